-- HAProxy (2.6, Debian's) action `portcullis_auth`: asks Portcullis /forward-auth about the
-- request's token (the caller's Authorization and DPoP headers, the request it made, the gateway's
-- own credentials) and leaves the answer in variables for haproxy.cfg:
--   txn.portcullis_status     200, 401 or 403 (0 when Portcullis could not be reached)
--   txn.portcullis_inner      "Bearer <inner JWT>" for the upstream, after a 200
--   txn.portcullis_challenge  the WWW-Authenticate to send the caller, after a 401
-- Configuration: the environment (set with `setenv` in haproxy.cfg's global section)
--   PORTCULLIS_URL            the issuer, e.g. https://id.example.com
--   PORTCULLIS_GATEWAY_BASIC  base64("<gateway client_id>:<secret>")
-- Answers Portcullis marks reusable (Cache-Control: max-age, at most 30 s, never past the token's
-- exp; never for DPoP requests or refusals) are kept per HAProxy thread, keyed by the caller's
-- Authorization header; see deploy/nginx/portcullis-gateway.conf for the trade-off against revocation.

local cache = {}
local cached = 0
local cache_limit = 10000

local function first(values)
  if values == nil then return nil end
  return values[0] or values[1]
end

local function from_cache(key)
  local entry = cache[key]
  if entry == nil then return nil end
  if entry.until_time <= core.now().sec then
    cache[key] = nil
    return nil
  end
  return entry.inner
end

local function remember(key, inner, seconds)
  if cached >= cache_limit then
    cache = {}
    cached = 0
  end
  cache[key] = { inner = inner, until_time = core.now().sec + seconds }
  cached = cached + 1
end

core.register_action("portcullis_auth", { "http-req" }, function(txn)
  local headers = txn.http:req_get_headers()
  local authorization = first(headers["authorization"])
  local dpop = first(headers["dpop"])
  if authorization ~= nil and dpop == nil then
    local inner = from_cache(authorization)
    if inner ~= nil then
      txn:set_var("txn.portcullis_status", 200)
      txn:set_var("txn.portcullis_inner", inner)
      return
    end
  end

  local proto = "http"
  if txn.f:ssl_fc() == true or txn.f:ssl_fc() == 1 then proto = "https" end
  local ask = {
    ["gateway-authorization"] = { "Basic " .. (os.getenv("PORTCULLIS_GATEWAY_BASIC") or "") },
    ["x-forwarded-method"] = { txn.f:method() },
    ["x-forwarded-proto"] = { proto },
    ["x-forwarded-host"] = { first(headers["host"]) or "" },
    ["x-forwarded-uri"] = { txn.f:pathq() },
  }
  if authorization ~= nil then ask["authorization"] = { authorization } end
  if dpop ~= nil then ask["dpop"] = { dpop } end

  local response = core.httpclient():get({
    url = (os.getenv("PORTCULLIS_URL") or "") .. "/forward-auth",
    headers = ask,
    timeout = 5000,
  })
  local status = tonumber(response and response.status) or 0
  txn:set_var("txn.portcullis_status", status)
  if status == 200 then
    local inner = first(response.headers["authorization"]) or ""
    txn:set_var("txn.portcullis_inner", inner)
    local reuse = tonumber(string.match(first(response.headers["cache-control"]) or "", "max%-age=(%d+)"))
    if authorization ~= nil and dpop == nil and reuse ~= nil and reuse > 0 then remember(authorization, inner, reuse) end
  elseif status == 401 then
    txn:set_var("txn.portcullis_challenge", first(response.headers["www-authenticate"]) or "Bearer")
  end
end)
