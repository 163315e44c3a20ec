// go_net — echo server peer for fastnet's benchmarks: Go standard library
// `net`, one goroutine per connection (the Go fastnet seed's baseline, as in
// gev's bench-echo.sh), GOMAXPROCS = --threads. Echoes raw bytes, prints a
// line containing "listening" when ready, exits on SIGINT/SIGTERM.
//
//	go_net --port P [--threads N] [--host 127.0.0.1] [--buffer 16384]
package main

import (
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
	// 16 KiB, as the Asio peer's: what an expert gives a stream socket. The
	// seed's net-echo-server used 4 KiB, which makes a 64 KiB message 16
	// reads and writes and the stream rows measure the buffer, not Go. An
	// idle connection pays for it in memory.
	bufSize := flag.Int("buffer", 16384, "read buffer per connection in bytes")
	flag.Parse()
	if *port <= 0 || *port > 65535 || *threads < 1 || *bufSize < 1 {
		fmt.Fprintln(os.Stderr, "usage: go_net --port P [--threads N] [--host A] [--buffer B]")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*threads)
	size := *bufSize

	ln, err := net.Listen("tcp", net.JoinHostPort(*host, fmt.Sprint(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_net:", err)
		os.Exit(1)
	}
	fmt.Printf("go_net listening on %s (GOMAXPROCS=%d, %s)\n", ln.Addr(), *threads, runtime.Version())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		s := <-sigs
		fmt.Printf("go_net stopping (%v)\n", s)
		// Exiting closes every connection; tracking them in a locked map
		// would tax each accept for no benefit to the benchmark.
		ln.Close()
		close(done)
	}()

	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				break
			}
			// EMFILE and the like: back off briefly (as net/http does) rather
			// than spin, and keep serving the connections we have.
			fmt.Fprintln(os.Stderr, "go_net: accept:", err)
			time.Sleep(5 * time.Millisecond)
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, size)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
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
