-- Shared by the wrk scripts: POST a WS-Man envelope with Basic bench:bench
-- and a MessageID unique per thread and request (the service refuses
-- duplicates). Set `envelope` (with one %s for the MessageID) before
-- loading this file; set `close = true` for Connection: close.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0
function request()
  n = n + 1
  local id = string.format("uuid:%08d-0000-4000-8000-%012d", tid or 0, n)
  local headers = {
    ["Content-Type"] = "application/soap+xml;charset=UTF-8",
    ["Authorization"] = "Basic YmVuY2g6YmVuY2g=",
  }
  if close then headers["Connection"] = "close" end
  return wrk.format("POST", nil, headers, string.format(envelope, id))
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("HTTP " .. status .. "\n")
  end
end
