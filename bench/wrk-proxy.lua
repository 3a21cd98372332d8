-- wrk script for the HTTP rows. wrk connects to the URL on its command line (the proxy, or the
-- upstream for the direct row); this script makes each request name its real target:
--   wrk ... -s wrk-proxy.lua http://127.0.0.1:PROXY/ -- TARGET HOST [HEADER-NAME HEADER-VALUE]
-- TARGET is the request target (an absolute URI through a proxy, a path direct), HOST the Host
-- header, and an optional header is added (an API key, for the enforcement rows). The summary
-- is printed as one JSON line for bench/wrk.ts.

init = function(args)
  wrk.path = args[1]
  wrk.headers["Host"] = args[2]
  if args[3] then
    wrk.headers[args[3]] = args[4]
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
