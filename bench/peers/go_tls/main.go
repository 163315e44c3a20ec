// go_tls — TLS echo server peer for fastnet's benchmarks: Go standard library
// crypto/tls over `net`, one goroutine per connection, GOMAXPROCS = --threads
// (go_net with TLS). Accepts TLS 1.2 and 1.3, like fastnet's default, so a
// client offering 1.3 (load_client does) gets 1.3; session tickets on, as
// Go's default. Echoes raw bytes, prints a line containing "listening" when
// ready, exits on SIGINT/SIGTERM.
//
//	go_tls --port P --cert FILE --key FILE [--threads N] [--host 127.0.0.1]
//	       [--buffer 4096]
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 0, "port to listen on (required)")
	threads := flag.Int("threads", 1, "GOMAXPROCS")
	certFile := flag.String("cert", "", "PEM certificate chain (required)")
	keyFile := flag.String("key", "", "PEM private key (required)")
	// 4 KiB, like go_net: enough for small messages. crypto/tls keeps its own
	// record buffers per connection on top of this one.
	bufSize := flag.Int("buffer", 4096, "read buffer per connection in bytes")
	flag.Parse()
	if *port <= 0 || *port > 65535 || *threads < 1 || *bufSize < 1 || *certFile == "" || *keyFile == "" {
		fmt.Fprintln(os.Stderr, "usage: go_tls --port P --cert FILE --key FILE [--threads N] [--host A] [--buffer B]")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*threads)
	size := *bufSize

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_tls:", err)
		os.Exit(1)
	}
	// Everything else at Go's defaults, as a Go user would leave it: its
	// cipher suite order, X25519 first, one session ticket per handshake.
	config := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}

	ln, err := net.Listen("tcp", net.JoinHostPort(*host, fmt.Sprint(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_tls:", err)
		os.Exit(1)
	}
	fmt.Printf("go_tls listening on %s (GOMAXPROCS=%d, %s)\n", ln.Addr(), *threads, runtime.Version())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		s := <-sigs
		fmt.Printf("go_tls stopping (%v)\n", s)
		// Exiting closes every connection, as in go_net.
		ln.Close()
		close(done)
	}()

	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				break
			}
			// EMFILE and the like: back off briefly rather than spin.
			fmt.Fprintln(os.Stderr, "go_tls: accept:", err)
			time.Sleep(5 * time.Millisecond)
			continue
		}
		// net.Listen's TCP connections already have TCP_NODELAY set.
		go func(c net.Conn) {
			// The handshake runs on the first Read, in this goroutine, as
			// tls.Server users rely on.
			tc := tls.Server(c, config)
			defer tc.Close()
			buf := make([]byte, size)
			for {
				n, err := tc.Read(buf)
				if n > 0 {
					if _, werr := tc.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}(c)
	}
	<-done
}
