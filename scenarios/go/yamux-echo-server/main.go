// yamux-echo-server: an independent yamux peer for sluice's interop tests.
//
// Listens on a loopback address, runs a hashicorp/yamux *server* session on every accepted TCP
// connection and, for every stream the peer opens, echoes the stream's bytes back; after the
// peer's FIN it half-closes its side too (Stream.Close). With -mode discard it reads and drops
// the bytes instead, then half-closes after the FIN. Prints "listening on HOST:PORT" once ready;
// exits 0 on SIGTERM/SIGINT after closing the listener and every session.
//
// Build: GO111MODULE=off GOPATH=/usr/share/gocode go build ./yamux-echo-server
package main

import (
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to listen on (port 0 picks one)")
	mode := flag.String("mode", "echo", "echo: send every stream's bytes back; discard: read and drop them")
	window := flag.Uint("window", 0, "yamux MaxStreamWindowSize in bytes (0 = yamux default, 256 KiB; must be >= 262144)")
	keepalive := flag.Bool("keepalive", true, "yamux EnableKeepAlive")
	keepaliveInterval := flag.Duration("keepalive-interval", 0, "yamux KeepAliveInterval (0 = yamux default, 30s)")
	quiet := flag.Bool("quiet", false, "don't log yamux session errors to stderr")
	flag.Parse()

	if *mode != "echo" && *mode != "discard" {
		fatalf("unknown -mode %q (echo|discard)", *mode)
	}
	if err := requireLoopback(*listen); err != nil {
		fatalf("%v", err)
	}

	conf := yamux.DefaultConfig()
	if *window != 0 {
		conf.MaxStreamWindowSize = uint32(*window)
	}
	conf.EnableKeepAlive = *keepalive
	if *keepaliveInterval != 0 {
		conf.KeepAliveInterval = *keepaliveInterval
	}
	if *quiet {
		conf.LogOutput = ioutil.Discard
	}
	if err := yamux.VerifyConfig(conf); err != nil {
		fatalf("yamux config: %v", err)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fatalf("listen: %v", err)
	}
	fmt.Printf("listening on %s\n", ln.Addr().String())
	os.Stdout.Sync()

	var (
		mu       sync.Mutex
		sessions = map[*yamux.Session]struct{}{}
		wg       sync.WaitGroup
		stopping bool
	)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		mu.Lock()
		stopping = true
		mu.Unlock()
		ln.Close()
	}()

	for {
		conn, err := ln.Accept()
		if err != nil {
			mu.Lock()
			s := stopping
			mu.Unlock()
			if !s {
				fmt.Fprintf(os.Stderr, "accept: %v\n", err)
			}
			break
		}
		sess, err := yamux.Server(conn, conf)
		if err != nil {
			fmt.Fprintf(os.Stderr, "yamux.Server: %v\n", err)
			conn.Close()
			continue
		}
		mu.Lock()
		if stopping {
			mu.Unlock()
			sess.Close()
			break
		}
		sessions[sess] = struct{}{}
		mu.Unlock()

		wg.Add(1)
		go func() {
			defer wg.Done()
			serveSession(sess, *mode, &wg)
			mu.Lock()
			delete(sessions, sess)
			mu.Unlock()
		}()
	}

	mu.Lock()
	for s := range sessions {
		s.Close()
	}
	mu.Unlock()

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		fmt.Fprintln(os.Stderr, "shutdown: streams still running after 5s, exiting anyway")
	}
	os.Exit(0)
}

// serveSession accepts streams until the session ends (peer closed, GoAway + close, or shutdown).
func serveSession(sess *yamux.Session, mode string, wg *sync.WaitGroup) {
	defer sess.Close()
	for {
		stream, err := sess.AcceptStream()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveStream(stream, mode)
		}()
	}
}

func serveStream(stream *yamux.Stream, mode string) {
	var err error
	if mode == "echo" {
		// Copies until the peer's FIN (Read returns io.EOF), writing every chunk back.
		_, err = io.Copy(stream, stream)
	} else {
		_, err = io.Copy(ioutil.Discard, stream)
	}
	if err != nil {
		// Reset or session shutdown: nothing to half-close any more.
		stream.Close()
		return
	}
	// Half-close our side: sends a FIN (a WindowUpdate frame with the FIN flag).
	stream.Close()
}

func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad address %q: %v", addr, err)
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
	fmt.Fprintf(os.Stderr, "yamux-echo-server: "+format+"\n", args...)
	os.Exit(2)
}
