package devserver

import (
	"fmt"
	"net"
	"strconv"

	"go.temporal.io/api/workflowservice/v1"
	sdklog "go.temporal.io/sdk/log"
)

// portOrFree checks that a requested port can be bound, or picks a free one
// for 0, so a busy port is reported before any service starts half-way.
func portOrFree(ip string, port int, flag string) (int, error) {
	if port == 0 {
		return freePort(ip)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("port %d on %s is not available (%v): pass another %s, or 0 for a free one", port, ip, err, flag)
	}
	_ = l.Close()
	return port, nil
}

// freePort asks the kernel for an unused port. Another process may take it
// before the server binds it; on loopback that race is rare and shows up as a
// clear bind error.
func freePort(ip string) (int, error) {
	ports, err := freePorts(ip, 1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// freePorts holds every listener until all n ports are known, so the kernel
// cannot hand out the same port twice.
func freePorts(ip string, n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port on %s: %w", ip, err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func describeNamespace(ns string) *workflowservice.DescribeNamespaceRequest {
	return &workflowservice.DescribeNamespaceRequest{Namespace: ns}
}

// quietSDKLogger silences the readiness probe's client: its connection
// errors while the server boots are expected.
type quietSDKLogger struct{}

var _ sdklog.Logger = quietSDKLogger{}

func (quietSDKLogger) Debug(string, ...interface{}) {}
func (quietSDKLogger) Info(string, ...interface{})  {}
func (quietSDKLogger) Warn(string, ...interface{})  {}
func (quietSDKLogger) Error(string, ...interface{}) {}
