module github.com/kplgo/producer

go 1.23

require (
	github.com/aws/aws-sdk-go v1.55.8
	github.com/jpillora/backoff v1.1.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/jmespath/go-jmespath v0.4.0 // indirect
	github.com/sirupsen/logrus v1.10.2 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	golang.org/x/sys v0.13.0 // indirect
)
