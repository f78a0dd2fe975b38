// Runs an in-memory kinesis-local server (kinesis-mock compiled to
// JavaScript) for the Go integration tests.
//
// Usage: node kinesislocal.js <node_modules dir> [shard limit]
//
// kinesis-local always opens two listeners, plain HTTP and TLS, on the
// ports from KINESIS_MOCK_PLAIN_PORT and KINESIS_MOCK_TLS_PORT and on every
// interface (its host is fixed to 0.0.0.0, which Node turns into a listen
// without a host). This script wraps net.Server.prototype.listen before
// loading the package, so that every TCP listener binds 127.0.0.1 only and
// an ephemeral port. The two ports are asked for with two sentinel values,
// which tell the listeners apart; the plain one is reported as
// "listening <port>" on stdout once it accepts connections.
//
// The server exits when its stdin reaches end-of-file, which happens when
// the Go process that started it closes the pipe or dies, so no server
// outlives its tests. SIGTERM and SIGINT end it at once.
'use strict'

var net = require('net')
var path = require('path')
var launcher = require('./launcher')

var args = launcher.args()
var pkg = path.join(args.modules, 'kinesis-local')

// Sentinel ports: never bound, only used to recognise the two listeners.
var PLAIN_SENTINEL = 1
var TLS_SENTINEL = 2
var HOST = '127.0.0.1'

var env = {
  KINESIS_MOCK_CERT_PATH: path.join(pkg, 'server.json'),
  KINESIS_MOCK_PLAIN_PORT: String(PLAIN_SENTINEL),
  KINESIS_MOCK_TLS_PORT: String(TLS_SENTINEL),
  // Stream operations complete almost at once: tests wait for ACTIVE.
  CREATE_STREAM_DURATION: '10ms',
  DELETE_STREAM_DURATION: '10ms',
  MERGE_SHARDS_DURATION: '50ms',
  SPLIT_SHARD_DURATION: '50ms',
  UPDATE_SHARD_COUNT_DURATION: '50ms',
  UPDATE_STREAM_MODE_DURATION: '50ms',
  REGISTER_STREAM_CONSUMER_DURATION: '10ms',
  DEREGISTER_STREAM_CONSUMER_DURATION: '10ms',
  START_STREAM_ENCRYPTION_DURATION: '10ms',
  STOP_STREAM_ENCRYPTION_DURATION: '10ms',
  SHARD_LIMIT: String(args.shardLimit),
  AWS_REGION: 'us-east-1',
  AWS_ACCOUNT_ID: '000000000000',
  // Memory only: never read or write a data file.
  SHOULD_PERSIST_DATA: 'false',
  LOAD_DATA_IF_EXISTS: 'false',
  // Request logging at INFO costs throughput and floods the output.
  LOG_LEVEL: 'WARN',
  ROOT_LOG_LEVEL: 'ERROR',
}
// The settings above replace whatever the environment holds, so that an
// AWS_REGION or a leftover setting of the caller cannot change the server.
Object.keys(env).forEach(function(k) { process.env[k] = env[k] })
delete process.env.INITIALIZE_STREAMS

function isPort(v) {
  return typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v))
}

var listen = net.Server.prototype.listen
net.Server.prototype.listen = function() {
  var args = Array.prototype.slice.call(arguments)
  var cb = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
  var opts
  if (isPort(args[0])) {
    opts = {port: Number(args[0])}
    if (typeof args[2] === 'number') opts.backlog = args[2]
  } else if (args[0] && typeof args[0] === 'object' && !args[0]._handle && args[0].fd === undefined &&
    args[0].path === undefined) {
    opts = Object.assign({}, args[0])
    opts.port = Number(opts.port || 0)
  } else {
    // A Unix socket path or an inherited handle: not a network listener.
    if (cb) args.push(cb)
    return listen.apply(this, args)
  }
  var requested = opts.port
  if (requested === PLAIN_SENTINEL || requested === TLS_SENTINEL) opts.port = 0
  opts.host = HOST
  delete opts.ipv6Only
  var server = this
  if (requested === PLAIN_SENTINEL) {
    server.once('listening', function() {
      process.stdout.write('listening ' + server.address().port + '\n')
    })
  }
  return cb ? listen.call(this, opts, cb) : listen.call(this, opts)
}

// kinesis-local is a cats-effect application, which replaces process.exit
// with a graceful shutdown that can take seconds; keep the real one.
var exit = process.exit.bind(process)

launcher.endWithStdin(exit)

require(path.join(pkg, 'main.js'))
