package nodeserver

import (
	"net"
	"net/url"
	"testing"
)

// TestListensOnLoopbackOnly checks each server's endpoint and that its port
// is reachable on 127.0.0.1 only: the launcher scripts bind 127.0.0.1 (for
// kinesis-local, which listens on every interface by itself, that includes
// its TLS listener).
func TestListensOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	forEachRunningServer(t, checkLoopbackOnly)
}

// checkLoopbackOnly checks that the server's endpoint is
// http://127.0.0.1:<port>, that the port answers there and that it is not
// reachable on any other local address, IPv4 or IPv6 (a listener without a
// host would accept on all of them).
func checkLoopbackOnly(t *testing.T, srv *Server) {
	t.Helper()
	u, err := url.Parse(srv.Endpoint())
	if err != nil {
		t.Fatalf("endpoint %q: %v", srv.Endpoint(), err)
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Fatalf("endpoint %q, want http://127.0.0.1:<port>", srv.Endpoint())
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatalf("the server's port is not reachable on 127.0.0.1: %v", err)
	}
	conn.Close()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("interface addresses: %v", err)
	}
	others := []string{"127.0.0.2", "::1"}
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		// An IPv6 link-local address cannot be dialled without its zone.
		if !ok || ipnet.IP.IsLoopback() || (ipnet.IP.To4() == nil && ipnet.IP.IsLinkLocalUnicast()) {
			continue
		}
		others = append(others, ipnet.IP.String())
	}
	for _, ip := range others {
		conn, err := net.Dial("tcp", net.JoinHostPort(ip, u.Port()))
		if err == nil {
			conn.Close()
			t.Errorf("server port %s is reachable on %s", u.Port(), ip)
		}
	}
}
