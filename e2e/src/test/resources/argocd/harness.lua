-- Runs an Argo CD health check as Argo CD does: the resource is the global `obj`, the chunk's return
-- value is the health, and only the base and table libraries are there (Argo CD's default when
-- resource.customizations.useOpenLibs is not set: no string, math, io or os library, and no string
-- methods). Works under Lua 5.1 (Argo CD's gopher-lua is a Lua 5.1) and 5.4.
--   lua5.4 harness.lua <health.lua> <object.lua>
-- <object.lua> is a chunk returning the resource as a table. Prints the status and the message on two
-- lines; exits non-zero, saying why on stderr, when the script does not load, fails or returns no status.
local scriptPath, objectPath = arg[1], arg[2]
local stdout, stderr, exit = io.stdout, io.stderr, os.exit

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

local loadText = loadstring or load
local object = assert(loadText(slurp(objectPath), "=object"))()

local env = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
  select = select, tonumber = tonumber, tostring = tostring, type = type, unpack = unpack or table.unpack,
  xpcall = xpcall, rawequal = rawequal, rawget = rawget, rawset = rawset, getmetatable = getmetatable,
  setmetatable = setmetatable, table = table, obj = object,
  print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do
      parts[#parts + 1] = tostring((select(i, ...)))
    end
    stderr:write(table.concat(parts, "\t"), "\n")
  end,
}
env._G = env

local source = slurp(scriptPath)
local chunk, problem
if setfenv then
  chunk, problem = loadstring(source, "=health.lua")
  if chunk then
    setfenv(chunk, env)
  end
else
  chunk, problem = load(source, "=health.lua", "t", env)
end
if not chunk then
  stderr:write("health.lua does not load: ", tostring(problem), "\n")
  exit(3)
end

-- No string library means no string methods either.
getmetatable("").__index = nil

local ok, result = pcall(chunk)
if not ok then
  stderr:write("health.lua failed: ", tostring(result), "\n")
  exit(4)
end
if type(result) ~= "table" or type(result.status) ~= "string" then
  stderr:write("health.lua returned no table with a status\n")
  exit(5)
end
stdout:write(result.status, "\n", tostring(result.message or ""), "\n")
