// Peer TLS echo server for fastnet's benchmarks: standard library only, so
// the build needs no module downloads.
module fastnet/bench/peers/go_tls

go 1.19
