// What the server scripts (kinesalite.js, kinesislocal.js) share: their
// command line and the rule that a server ends with its stdin.
'use strict'

var path = require('path')

// args reads "<node_modules dir> [shard limit]" from the command line, or
// prints the running script's usage and exits with status 2. The directory
// comes back as an absolute path.
exports.args = function() {
  var modules = process.argv[2]
  if (!modules) {
    console.error('usage: node ' + path.basename(process.argv[1]) + ' <node_modules dir> [shard limit]')
    process.exit(2)
  }
  return {
    modules: path.resolve(modules),
    shardLimit: parseInt(process.argv[3] || '10000', 10),
  }
}

// endWithStdin calls shutdown(0) when stdin reaches end-of-file, closes or
// fails, which happens when the Go process that started the server closes
// the pipe or dies, so no server outlives its tests; and on SIGTERM and
// SIGINT.
exports.endWithStdin = function(shutdown) {
  process.stdin.on('end', function() { shutdown(0) })
  process.stdin.on('close', function() { shutdown(0) })
  process.stdin.on('error', function() { shutdown(0) })
  process.stdin.resume()
  process.on('SIGTERM', function() { shutdown(0) })
  process.on('SIGINT', function() { shutdown(0) })
}
