# Benchmark (c): start-up only.
package require smtp
package require mime
