// Test support for the TLS tests: the certificates scripts/make_test_certs.sh
// makes (in FASTNET_TLS_CERTS, a CTest fixture), configurations using them,
// Python's ssl module as a TLS client process (and as a STARTTLS client).
#pragma once

#include <fastnet/socket_address.hpp>
#include <fastnet/tls/context.hpp>

#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "subprocess.hpp"
#include "test_socket.hpp"

#ifndef FASTNET_TLS_CERTS
#error "FASTNET_TLS_CERTS must name the directory scripts/make_test_certs.sh writes"
#endif

namespace fastnet::test {

/// A file made by scripts/make_test_certs.sh. Outside ctest (no fixture) the
/// script is run here, once; it does nothing when the files are up to date.
inline std::string cert(const std::string& name) {
  static const std::string dir = [] {
    std::string d = FASTNET_TLS_CERTS;
#ifdef FASTNET_MAKE_TEST_CERTS
    if (::access((d + "/ca.pem").c_str(), R_OK) != 0) {
      auto r = run_program({FASTNET_MAKE_TEST_CERTS, d}, std::chrono::seconds(60));
      if (r.exit_code != 0) throw std::runtime_error("make_test_certs.sh failed: " + r.err);
    }
#endif
    return d;
  }();
  return dir + "/" + name;
}

/// Python's ssl module as a TLS client, key=value arguments:
///   port, ca (trusted CAs), host (server_hostname, default localhost),
///   cert + key (a client certificate), alpn (comma-separated offer),
///   size (bytes sent in one sendall, then read back and compared; default 16),
///   recv (instead of the echo: read this many bytes, expected to be
///   byte i = i % 251, as pattern() makes), tls12 (=1: offer TLS 1.2 at most),
///   end: notify (default: unwrap, i.e. close_notify and wait for the
///   server's), eof (read once more: a clean EOF needs the server's
///   close_notify; with answer=1, then send ours), drop (close the socket
///   without close_notify).
/// Prints "handshake ok VERSION ALPN CIPHER" or "handshake failed ERROR",
/// then "echo ok N" / "echo mismatch N" / "echo failed ERROR" (with recv:
/// "recv ok N" ...), then the end's outcome. Exits 0 unless the script
/// itself broke.
constexpr const char* py_client = R"PY(
import random, socket, ssl, sys
a = dict(x.split('=', 1) for x in sys.argv[1:])
ctx = ssl.create_default_context(cafile=a['ca'])
if 'cert' in a: ctx.load_cert_chain(a['cert'], a['key'])
if 'alpn' in a: ctx.set_alpn_protocols(a['alpn'].split(','))
if a.get('tls12') == '1': ctx.maximum_version = ssl.TLSVersion.TLSv1_2
raw = socket.create_connection(('127.0.0.1', int(a['port'])), timeout=10)
try:
    s = ctx.wrap_socket(raw, server_hostname=a.get('host', 'localhost'),
                        suppress_ragged_eofs=False)
except Exception as e:
    print('handshake failed', repr(e)); sys.exit(0)
print('handshake ok', s.version(), s.selected_alpn_protocol(), s.cipher()[0], flush=True)
n = int(a.get('size', '16'))
data = random.Random(n).randbytes(n)
what = 'recv' if 'recv' in a else 'echo'
want = bytes(i % 251 for i in range(int(a['recv']))) if 'recv' in a else data
got = b''
try:
    s.sendall(data)
    while len(got) < len(want):
        d = s.recv(1 << 20)
        if not d: break
        got += d
except Exception as e:
    print(what, 'failed', repr(e)); sys.exit(0)
print(what, 'ok' if got == want else 'mismatch', len(got), flush=True)
end = a.get('end', 'notify')
if end == 'eof':
    try: print('eof clean' if s.recv(1) == b'' else 'eof data')
    except ssl.SSLEOFError: print('eof ragged')
    except Exception as e: print('eof error', repr(e))
    if a.get('answer') == '1':
        try: s.unwrap(); print('answered')
        except Exception as e: print('answer failed', repr(e))
elif end == 'drop':
    socket.socket(fileno=s.detach()).close()
    print('dropped')
else:
    try: s.unwrap(); print('unwrap ok')
    except Exception as e: print('unwrap failed', repr(e))
)PY";

inline run_result python_client(const socket_address& server, std::vector<std::string> args) {
  std::vector<std::string> argv{"python3", "-c", py_client, "port=" + std::to_string(server.port()),
                                "ca=" + cert("ca.pem")};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(std::move(argv), std::chrono::seconds(30));
}

/// A Python STARTTLS client of the line protocol in
/// examples/starttls_session.hpp: plaintext lines, then TLS on the same
/// socket. argv: port ca pipelined(0/1). Prints each answer line. Pipelined,
/// its ClientHello goes in the same write as the STARTTLS line.
constexpr const char* py_starttls = R"PY(
import socket, ssl, sys
port, ca, pipelined = int(sys.argv[1]), sys.argv[2], sys.argv[3] == '1'
ctx = ssl.create_default_context(cafile=ca)
s = socket.create_connection(('127.0.0.1', port), timeout=20)
buf = b''
def line():
    global buf
    while b'\n' not in buf:
        d = s.recv(4096)
        if not d: raise SystemExit('eof in plaintext')
        buf += d
    l, buf = buf.split(b'\n', 1)
    return l.decode()
print(line())
if not pipelined:
    s.sendall(b'HELO py\nSECURE?\nSTARTTLS\n')
    print(line()); print(line()); print(line())
    assert buf == b''
    t = ctx.wrap_socket(s, server_hostname='localhost')
    t.sendall(b'SECURE?\nQUIT\n')
    f = t.makefile('rb')
    print(f.readline().decode().strip()); print(f.readline().decode().strip())
    sys.exit(0)
# The ClientHello right behind STARTTLS, in one write.
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out, server_hostname='localhost')
try: tls.do_handshake()
except ssl.SSLWantReadError: pass
s.sendall(b'STARTTLS\n' + out.read())
print(line())
inc.write(buf)
while True:
    try:
        tls.do_handshake(); break
    except ssl.SSLWantReadError:
        if out.pending: s.sendall(out.read())
        d = s.recv(65536)
        if not d: raise SystemExit('eof in handshake')
        inc.write(d)
if out.pending: s.sendall(out.read())
tls.write(b'SECURE?\n'); s.sendall(out.read())
got = b''
while b'\n' not in got:
    try: got += tls.read(4096)
    except ssl.SSLWantReadError:
        d = s.recv(65536)
        if not d: raise SystemExit('eof in TLS')
        inc.write(d)
print(got.decode().strip())
)PY";

inline run_result python_starttls(const socket_address& server, bool pipelined) {
  return run_program({"python3", "-c", py_starttls, std::to_string(server.port()), cert("ca.pem"),
                      pipelined ? "1" : "0"},
                     std::chrono::seconds(30));
}

/// Catch2 context for a run_result: exit code, stdout, stderr (include
/// catch.hpp first).
#define INFO_RUN(r)                                                                         \
  INFO("exit " << ((r).exit_code ? std::to_string(*(r).exit_code) : std::string("timeout")) \
               << "\nstdout:\n"                                                             \
               << (r).out << "stderr:\n"                                                    \
               << (r).err)

/// `n` bytes, byte i = i % 251: what the Python client's recv= expects.
inline std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(i % 251);
  return s;
}

inline tls::server_config server_config() {
  tls::server_config c;
  c.cert_file = cert("server.pem");
  c.key_file = cert("server.key");
  return c;
}

inline tls::client_config client_config() {
  tls::client_config c;
  c.ca_file = cert("ca.pem");
  c.server_name = "localhost";
  return c;
}

}  // namespace fastnet::test
