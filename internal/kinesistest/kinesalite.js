// Runs an in-memory kinesalite server for the Go integration tests.
//
// Usage: node kinesalite.js <node_modules dir> [shard limit]
//
// The server listens on an ephemeral port on 127.0.0.1 only and prints
// "listening <port>" on stdout once it accepts connections. It exits when
// its stdin reaches end-of-file, which happens when the Go process that
// started it closes the pipe or dies, so no server outlives its tests.
'use strict'

var domain = require('domain')
var path = require('path')
var launcher = require('./launcher')

var args = launcher.args()

var kinesalite = require(path.join(args.modules, 'kinesalite'))

var server = kinesalite({
  // No "path" option: kinesalite keeps everything in memory (memdown) and
  // never loads the optional native leveldown module.
  createStreamMs: 5,
  deleteStreamMs: 5,
  updateStreamMs: 10,
  shardLimit: args.shardLimit,
})

// kinesalite throws from its request callbacks on unexpected internal
// errors (for example ListShards called with only a NextToken), which
// would crash the whole process and leave the caller's request hanging.
// Answer such requests with a 500 InternalFailure instead, as Kinesis would.
var handlers = server.listeners('request')
server.removeAllListeners('request')
server.on('request', function(req, res) {
  var d = domain.create()
  d.on('error', function(err) {
    console.error('kinesalite: internal error: ' + (err && err.stack || err))
    if (res.headersSent) {
      res.destroy()
      return
    }
    var body = JSON.stringify({__type: 'InternalFailure', message: String(err && err.message || err)})
    res.statusCode = 500
    res.setHeader('Content-Type', 'application/x-amz-json-1.1')
    res.setHeader('Content-Length', Buffer.byteLength(body))
    res.end(body)
  })
  d.add(req)
  d.add(res)
  d.run(function() {
    handlers.forEach(function(h) { h.call(server, req, res) })
  })
  // kinesalite's request handler rethrows a request's own error, such as
  // "aborted" when a client gives up in the middle of a body (the fault
  // tests' timeouts do). That error comes from the socket, outside the
  // domain, and would end the process under every test still using it:
  // drop the request instead.
  req.removeAllListeners('error')
  req.on('error', function(err) {
    console.error('kinesalite: request ' + (err && err.message || err) + ', dropped')
    res.destroy()
  })
})

function shutdown(code) {
  server.close(function() { process.exit(code) })
  // Do not wait for idle keep-alive connections.
  setTimeout(function() { process.exit(code) }, 200).unref()
}

launcher.endWithStdin(shutdown)

server.on('error', function(err) {
  console.error('kinesalite: server error: ' + (err && err.stack || err))
  process.exit(1)
})

server.listen(0, '127.0.0.1', function() {
  process.stdout.write('listening ' + server.address().port + '\n')
})
