package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/kplgo/producer/internal/nodeserver"
)

// The local server is the kinesalite server of the integration tests, run
// by package nodeserver with their launcher script
// (internal/kinesistest/kinesalite.js) as package kinesistest runs it. The
// demo does not import kinesistest, which is built on aws-sdk-go v1:
// nodeserver imports no AWS SDK, and the demo talks to the server with an
// aws-sdk-go-v2 client.
const (
	// localRegion and the static credentials below are what the local
	// server is called with: it checks neither.
	localRegion = "us-east-1"

	// localHTTPTimeout bounds each HTTP request to the local server: it only
	// guards against a hung server.
	localHTTPTimeout = 30 * time.Second
)

// localServer is a running kinesalite process and the HTTP client of the
// demo's clients for it.
type localServer struct {
	*nodeserver.Server              // Endpoint, PID
	http               *http.Client // shared by the server's clients
}

// startLocalServer launches kinesalite from the node_modules directory at
// the repository root (the nearest directory at or above the working
// directory whose go.mod declares this module) and waits until it answers
// ListStreams, or until ctx ends. Its shard limit, nodeserver.ShardLimit, is
// far above -shards' 1000.
func startLocalServer(ctx context.Context) (*localServer, error) {
	proc, err := nodeserver.Start(ctx, nodeserver.Kinesalite)
	if errors.Is(err, nodeserver.ErrNotInRepo) {
		return nil, fmt.Errorf("%w: run the demo inside the repository", err)
	}
	if err != nil {
		return nil, err
	}
	s := &localServer{Server: proc, http: newLocalHTTPClient()}
	client := s.client()
	err = proc.WaitReady(ctx, "ListStreams", func(ctx context.Context) error {
		_, err := client.ListStreams(ctx, &kinesis.ListStreamsInput{Limit: aws.Int32(1)})
		return err
	})
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// client returns a Kinesis client for the server (see newLocalClient).
func (s *localServer) client() *kinesis.Client { return newLocalClient(s.Endpoint(), s.http) }

// Close stops the server (see nodeserver's Close) and closes the idle
// connections to it. Later calls return the result of the first.
func (s *localServer) Close() error {
	defer s.http.CloseIdleConnections()
	return s.Server.Close()
}

// newLocalClient returns an aws-sdk-go-v2 Kinesis client for a local server
// at endpoint: region us-east-1, static fake credentials, plain HTTP through
// hc, and no SDK retries (RetryMaxAttempts 1: the producer does its own). It
// reads no environment variable (AWS_CA_BUNDLE included) and no shared
// config file.
func newLocalClient(endpoint string, hc *http.Client) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:           localRegion,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDKPLDEMO", "kpl-demo-secret", ""),
		HTTPClient:       hc,
		RetryMaxAttempts: 1,
	})
}

// newLocalHTTPClient returns an HTTP client for loopback connections to a
// local server: no proxy, idle connections closed before the server closes
// them, and an overall timeout per request.
func newLocalHTTPClient() *http.Client {
	return &http.Client{
		Timeout: localHTTPTimeout,
		Transport: &http.Transport{
			Proxy:               nil, // never send loopback traffic to a proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        100,
			MaxIdleConnsPerHost: 100,
			IdleConnTimeout:     4 * time.Second, // below the server's 5 s keep-alive timeout
		},
	}
}
