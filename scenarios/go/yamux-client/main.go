// yamux-client: an independent yamux peer for sluice's interop tests.
//
// Dials a loopback address as a hashicorp/yamux *client*, opens -streams streams and sends
// -bytes bytes of seeded pseudo-random data on each (stream i uses seed -seed+i), then
// half-closes (Stream.Close sends FIN). In -mode echo it reads the echo back concurrently and
// compares SHA-256 digests; in -mode send it only drains and discards whatever comes back.
// Prints exactly one JSON line on stdout; exit code 0 only if every stream succeeded.
//
// Build: GO111MODULE=off GOPATH=/usr/share/gocode go build ./yamux-client
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"io/ioutil"
	"math/rand"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

type streamResult struct {
	Index          int     `json:"index"`
	StreamID       uint32  `json:"streamId"`
	BytesSent      int64   `json:"bytesSent"`
	BytesReceived  int64   `json:"bytesReceived"`
	SentSha256     string  `json:"sentSha256"`
	ReceivedSha256 string  `json:"receivedSha256"`
	Match          bool    `json:"match"`
	RemoteClosed   bool    `json:"remoteClosed"`
	DurationMs     float64 `json:"durationMs"`
	Error          string  `json:"error,omitempty"`
}

type totals struct {
	Streams       int     `json:"streams"`
	Matched       int     `json:"matched"`
	BytesSent     int64   `json:"bytesSent"`
	BytesReceived int64   `json:"bytesReceived"`
	DurationMs    float64 `json:"durationMs"`
	SendMiBps     float64 `json:"sendMiBps"`
}

type result struct {
	OK      bool           `json:"ok"`
	Mode    string         `json:"mode"`
	Addr    string         `json:"addr"`
	Seed    int64          `json:"seed"`
	Window  uint32         `json:"window"`
	RttMs   []float64      `json:"rttMs"`
	Streams []streamResult `json:"streams"`
	Totals  totals         `json:"totals"`
	GoAway  bool           `json:"goAway"`
	Error   string         `json:"error,omitempty"`
}

func main() {
	addr := flag.String("addr", "", "loopback HOST:PORT of the yamux server (required)")
	nStreams := flag.Int("streams", 8, "number of streams to open")
	nBytes := flag.Int64("bytes", 4194304, "bytes to send per stream")
	chunk := flag.Int("chunk", 64*1024, "bytes per Stream.Write call")
	seed := flag.Int64("seed", 1, "PRNG seed; stream i sends math/rand data seeded with seed+i")
	mode := flag.String("mode", "echo", "echo: expect every byte back and compare; send: send, half-close, drain without comparing")
	pings := flag.Int("pings", 0, "Session.Ping round trips to measure before the streams start (reported as rttMs)")
	window := flag.Uint("window", 0, "yamux MaxStreamWindowSize in bytes (0 = yamux default, 256 KiB; must be >= 262144)")
	keepalive := flag.Bool("keepalive", true, "yamux EnableKeepAlive")
	keepaliveInterval := flag.Duration("keepalive-interval", 0, "yamux KeepAliveInterval (0 = yamux default, 30s)")
	goAway := flag.Bool("goaway", false, "send a GoAway before closing the session")
	linger := flag.Duration("linger", 10*time.Second, "in send mode, how long to wait for the peer's FIN after ours")
	timeout := flag.Duration("timeout", 120*time.Second, "overall deadline; streams still running then fail")
	flag.Parse()

	res := result{Mode: *mode, Addr: *addr, Seed: *seed, RttMs: []float64{}, Streams: []streamResult{}}
	fail := func(format string, args ...interface{}) {
		res.Error = fmt.Sprintf(format, args...)
		emit(&res)
		os.Exit(1)
	}

	if *mode != "echo" && *mode != "send" {
		fail("unknown -mode %q (echo|send)", *mode)
	}
	if err := requireLoopback(*addr); err != nil {
		fail("%v", err)
	}
	if *nStreams < 0 || *nBytes < 0 || *chunk <= 0 {
		fail("-streams and -bytes must be >= 0, -chunk > 0")
	}

	conf := yamux.DefaultConfig()
	if *window != 0 {
		conf.MaxStreamWindowSize = uint32(*window)
	}
	conf.EnableKeepAlive = *keepalive
	if *keepaliveInterval != 0 {
		conf.KeepAliveInterval = *keepaliveInterval
	}
	if err := yamux.VerifyConfig(conf); err != nil {
		fail("yamux config: %v", err)
	}
	res.Window = conf.MaxStreamWindowSize

	conn, err := net.DialTimeout("tcp", *addr, 10*time.Second)
	if err != nil {
		fail("dial: %v", err)
	}
	sniff := newSniffConn(conn)
	sess, err := yamux.Client(sniff, conf)
	if err != nil {
		conn.Close()
		fail("yamux.Client: %v", err)
	}
	defer sess.Close()

	for i := 0; i < *pings; i++ {
		rtt, err := sess.Ping()
		if err != nil {
			fail("ping: %v", err)
		}
		res.RttMs = append(res.RttMs, ms(rtt))
	}

	deadline := time.Now().Add(*timeout)
	start := time.Now()
	results := make([]streamResult, *nStreams)
	var wg sync.WaitGroup
	for i := 0; i < *nStreams; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = runStream(sess, sniff, i, *seed+int64(i), *nBytes, *chunk, *mode, *linger, deadline)
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)

	res.Streams = results
	res.OK = true
	res.Totals.Streams = *nStreams
	res.Totals.DurationMs = ms(elapsed)
	for _, r := range results {
		res.Totals.BytesSent += r.BytesSent
		res.Totals.BytesReceived += r.BytesReceived
		if r.Match {
			res.Totals.Matched++
		}
		if r.Error != "" || (*mode == "echo" && !r.Match) || r.BytesSent != *nBytes {
			res.OK = false
		}
	}
	if secs := elapsed.Seconds(); secs > 0 {
		res.Totals.SendMiBps = float64(res.Totals.BytesSent) / (1 << 20) / secs
	}

	if *goAway {
		if err := sess.GoAway(); err != nil {
			res.OK = false
			res.Error = fmt.Sprintf("goaway: %v", err)
		} else {
			res.GoAway = true
		}
	}
	sess.Close()
	emit(&res)
	if !res.OK {
		os.Exit(1)
	}
}

func runStream(sess *yamux.Session, sniff *sniffConn, index int, seed int64, nBytes int64, chunk int, mode string, linger time.Duration, deadline time.Time) (r streamResult) {
	r.Index = index
	start := time.Now()
	defer func() { r.DurationMs = ms(time.Since(start)) }()

	stream, err := sess.OpenStream()
	if err != nil {
		r.Error = fmt.Sprintf("open: %v", err)
		return
	}
	r.StreamID = stream.StreamID()
	stream.SetDeadline(deadline)

	sentHash := sha256.New()
	recvHash := sha256.New()

	// Reader: counts and hashes whatever comes back until the peer's FIN.
	type readDone struct {
		n   int64
		err error
	}
	readCh := make(chan readDone, 1)
	lingerCh := make(chan time.Time, 1)
	go func() {
		var w io.Writer = recvHash
		if mode == "send" {
			w = ioutil.Discard
		}
		n, err := readUntilRemoteFin(sess, stream, sniff, w, deadline, lingerCh)
		readCh <- readDone{n, err}
	}()

	// Writer: seeded pseudo-random bytes, hashed as they go, then FIN.
	rng := rand.New(rand.NewSource(seed))
	buf := make([]byte, chunk)
	var sent int64
	var writeErr error
	for sent < nBytes {
		n := int64(len(buf))
		if rem := nBytes - sent; rem < n {
			n = rem
		}
		rng.Read(buf[:n])
		sentHash.Write(buf[:n])
		w, err := stream.Write(buf[:n])
		sent += int64(w)
		if err != nil {
			writeErr = err
			break
		}
	}
	r.BytesSent = sent
	r.SentSha256 = hexSum(sentHash)
	stream.Close() // half-close: FIN

	if writeErr != nil {
		r.Error = fmt.Sprintf("write after %d bytes: %v", sent, writeErr)
		return
	}

	if mode == "send" {
		// Only wait -linger for the peer's FIN; not getting one is not an error here.
		lingerCh <- time.Now().Add(linger)
	}
	rd := <-readCh
	r.BytesReceived = rd.n
	if rd.err == errLinger {
		return
	}
	if rd.err != nil {
		r.Error = fmt.Sprintf("read after %d bytes: %v", rd.n, rd.err)
		return
	}
	r.RemoteClosed = true
	if mode == "echo" {
		r.ReceivedSha256 = hexSum(recvHash)
		r.Match = r.BytesReceived == r.BytesSent && r.ReceivedSha256 == r.SentSha256
	}
	return
}

var errLinger = errors.New("peer did not half-close within -linger")

// readUntilRemoteFin copies the stream into w until the peer's FIN has arrived and every DATA byte
// sent before it has been read.
//
// It cannot simply read until io.EOF: in the hashicorp/yamux snapshot Debian ships (2019), once
// we have half-closed our side (Stream.Close), Stream.Read returns io.EOF whenever its receive
// buffer is momentarily empty, although the peer may still be sending (fixed upstream in
// hashicorp/yamux#131, v0.1.2). So an EOF counts only when the wire sniffer saw the peer's FIN
// and we have read exactly as many DATA bytes as it counted for this stream; otherwise we poll.
func readUntilRemoteFin(sess *yamux.Session, stream *yamux.Stream, sniff *sniffConn, w io.Writer, deadline time.Time, lingerCh <-chan time.Time) (int64, error) {
	buf := make([]byte, 32*1024)
	var n int64
	id := stream.StreamID()
	lingering := false
	for {
		k, err := stream.Read(buf)
		if k > 0 {
			w.Write(buf[:k])
			n += int64(k)
		}
		if err == nil {
			continue
		}
		if err != io.EOF {
			return n, err
		}
		st := sniff.stream(id)
		if st.rst {
			return n, errors.New("stream reset by peer (RST)")
		}
		if st.fin && n == st.dataBytes {
			return n, nil
		}
		if sess.IsClosed() {
			return n, errors.New("session closed before the peer's FIN")
		}
		select {
		case d := <-lingerCh:
			deadline, lingering = d, true
		default:
		}
		if time.Now().After(deadline) {
			if lingering {
				return n, errLinger
			}
			return n, fmt.Errorf("timed out waiting for the peer's FIN (fin seen: %v, data bytes seen: %d)", st.fin, st.dataBytes)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func emit(res *result) {
	line, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintf(os.Stderr, "json: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(string(line))
}

func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad -addr %q: %v", addr, err)
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
