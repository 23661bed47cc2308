// capture: records a golden transcript of real yamux traffic for sluice's codec tests.
//
// It listens on a loopback relay port, runs a scripted hashicorp/yamux client (DefaultConfig)
// against the relay, and the relay forwards every byte to -target (a running
// yamux-echo-server, also on DefaultConfig) while recording each chunk it reads with its
// direction ("c2s" client->server, "s2c" server->client), a sequence number, the offset within
// that direction, and the hex bytes. Writes the transcript as JSON to -out.
//
// Script: open stream 1 and write a greeting; open stream 3 and make two small writes; a
// Session.Ping; a 128 KiB write on stream 3 (enough for both sides to send a real window
// update: Go sends one once half its 256 KiB window has been consumed); every echo is read
// back in full; FIN on stream 1 and then stream 3, each answered by the server's FIN; a GoAway;
// close. Regenerate with test/interop/regen-transcript.ts (see test/interop/README.md).
//
// Build: GO111MODULE=off GOPATH=/usr/share/gocode go build ./capture
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

type chunk struct {
	Seq    int     `json:"seq"`
	Dir    string  `json:"dir"`
	Offset int     `json:"offset"`
	Length int     `json:"length"`
	TMs    float64 `json:"tMs"`
	Hex    string  `json:"hex"`
}

type dirSummary struct {
	Bytes  int    `json:"bytes"`
	Sha256 string `json:"sha256"`
}

type transcript struct {
	Format      string                `json:"format"`
	Description string                `json:"description"`
	GoVersion   string                `json:"goVersion"`
	Yamux       string                `json:"yamux"`
	Config      map[string]string     `json:"config"`
	Script      []string              `json:"script"`
	PingRttMs   float64               `json:"pingRttMs"`
	Directions  map[string]dirSummary `json:"directions"`
	Chunks      []chunk               `json:"chunks"`
}

type recorder struct {
	mu     sync.Mutex
	start  time.Time
	chunks []chunk
	offset map[string]int
	all    map[string]*bytes.Buffer
}

func (r *recorder) record(dir string, b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chunks = append(r.chunks, chunk{
		Seq:    len(r.chunks),
		Dir:    dir,
		Offset: r.offset[dir],
		Length: len(b),
		TMs:    float64(time.Since(r.start).Microseconds()) / 1000,
		Hex:    hex.EncodeToString(b),
	})
	r.offset[dir] += len(b)
	r.all[dir].Write(b)
}

// pipe copies src to dst, recording every chunk, then half-closes dst's write side.
func (r *recorder) pipe(dir string, dst, src *net.TCPConn, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 64*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			r.record(dir, buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.CloseWrite()
}

func main() {
	target := flag.String("target", "", "loopback HOST:PORT of a running yamux-echo-server (required)")
	out := flag.String("out", "", "where to write the transcript JSON (default stdout)")
	yamuxVersion := flag.String("yamux-version", "unknown", "yamux version string to record")
	bulk := flag.Int("bulk", 128*1024, "size of the bulk write on stream 3 (0 to skip)")
	flag.Parse()

	if err := requireLoopback(*target); err != nil {
		fatalf("%v", err)
	}

	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fatalf("relay listen: %v", err)
	}
	rec := &recorder{offset: map[string]int{}, all: map[string]*bytes.Buffer{"c2s": {}, "s2c": {}}}
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		cconn, err := ln.AcceptTCP()
		ln.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "relay accept: %v\n", err)
			return
		}
		defer cconn.Close()
		taddr, _ := net.ResolveTCPAddr("tcp", *target)
		sconn, err := net.DialTCP("tcp", nil, taddr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "relay dial: %v\n", err)
			return
		}
		defer sconn.Close()
		rec.mu.Lock()
		rec.start = time.Now()
		rec.mu.Unlock()
		var wg sync.WaitGroup
		wg.Add(2)
		go rec.pipe("c2s", sconn, cconn, &wg)
		go rec.pipe("s2c", cconn, sconn, &wg)
		wg.Wait()
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fatalf("dial relay: %v", err)
	}
	conf := yamux.DefaultConfig()
	sess, err := yamux.Client(conn, conf)
	if err != nil {
		fatalf("yamux.Client: %v", err)
	}

	var script []string
	step := func(format string, args ...interface{}) {
		script = append(script, fmt.Sprintf(format, args...))
	}
	echo := func(s *yamux.Stream, payload []byte) {
		if _, err := s.Write(payload); err != nil {
			fatalf("write on stream %d: %v", s.StreamID(), err)
		}
		got := make([]byte, len(payload))
		if _, err := io.ReadFull(s, got); err != nil {
			fatalf("read echo on stream %d: %v", s.StreamID(), err)
		}
		if !bytes.Equal(got, payload) {
			fatalf("echo mismatch on stream %d", s.StreamID())
		}
	}
	// After our FIN, wait for the server's FIN: yamux drops a stream from the session once both
	// sides have closed it. (Stream.Read cannot tell: in this yamux version it returns EOF as soon
	// as we have closed our side.)
	waitStreams := func(n int) {
		deadline := time.Now().Add(5 * time.Second)
		for sess.NumStreams() > n {
			if time.Now().After(deadline) {
				fatalf("server did not close its side (streams open: %d)", sess.NumStreams())
			}
			time.Sleep(time.Millisecond)
		}
	}

	s1, err := sess.OpenStream()
	if err != nil {
		fatalf("open: %v", err)
	}
	m1 := []byte("hello from stream 1")
	echo(s1, m1)
	step("client opens stream %d and writes %q (%d bytes); server echoes it", s1.StreamID(), m1, len(m1))

	s3, err := sess.OpenStream()
	if err != nil {
		fatalf("open: %v", err)
	}
	m2, m3 := []byte("first write on stream 3"), []byte("second write, a little longer, on stream 3")
	echo(s3, m2)
	step("client opens stream %d and writes %q (%d bytes); server echoes it", s3.StreamID(), m2, len(m2))
	echo(s3, m3)
	step("client writes %q (%d bytes) on stream %d; server echoes it", m3, len(m3), s3.StreamID())

	rtt, err := sess.Ping()
	if err != nil {
		fatalf("ping: %v", err)
	}
	step("client pings (Session.Ping); server answers")

	if *bulk > 0 {
		big := make([]byte, *bulk)
		for i := range big {
			big[i] = byte(i % 251)
		}
		echo(s3, big)
		step("client writes %d bytes (byte i = i %% 251) on stream %d; server echoes them; each side's reads cross half the 256 KiB window, so each sends a window update", *bulk, s3.StreamID())
	}

	s1.Close()
	waitStreams(1)
	step("client half-closes stream %d (FIN); server half-closes it too (FIN)", s1.StreamID())
	s3.Close()
	waitStreams(0)
	step("client half-closes stream %d (FIN); server half-closes it too (FIN)", s3.StreamID())

	if err := sess.GoAway(); err != nil {
		fatalf("goaway: %v", err)
	}
	step("client sends GoAway (normal), then closes the TCP connection")
	time.Sleep(20 * time.Millisecond)
	sess.Close()

	select {
	case <-relayDone:
	case <-time.After(10 * time.Second):
		fatalf("relay did not finish")
	}

	t := transcript{
		Format:      "sluice yamux transcript v1: chunks as read by a loopback TCP relay between client and server; dir c2s = client->server, s2c = server->client; offset = byte offset within that direction",
		Description: "hashicorp/yamux client <-> hashicorp/yamux server (yamux-echo-server), both yamux.DefaultConfig()",
		GoVersion:   runtime.Version(),
		Yamux:       *yamuxVersion,
		Config: map[string]string{
			"client": "yamux.DefaultConfig() (AcceptBacklog 256, keepalive on every 30s, ConnectionWriteTimeout 10s, MaxStreamWindowSize 262144)",
			"server": "yamux.DefaultConfig() (same)",
		},
		Script:     script,
		PingRttMs:  float64(rtt.Microseconds()) / 1000,
		Directions: map[string]dirSummary{},
		Chunks:     rec.chunks,
	}
	for dir, b := range rec.all {
		sum := sha256.Sum256(b.Bytes())
		t.Directions[dir] = dirSummary{Bytes: b.Len(), Sha256: hex.EncodeToString(sum[:])}
	}
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		fatalf("json: %v", err)
	}
	data = append(data, '\n')
	if *out == "" {
		os.Stdout.Write(data)
	} else if err := os.WriteFile(*out, data, 0o644); err != nil {
		fatalf("write %s: %v", *out, err)
	}
}

func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad -target %q: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing non-loopback address %q: interop peers only use 127.0.0.0/8 or ::1", addr)
	}
	return nil
}

func fatalf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "capture: "+format+"\n", args...)
	os.Exit(1)
}
