-- Argo CD health check for roundhouse.dev/LoadBalancer (argocd-cm key
-- resource.customizations.health.roundhouse.dev_LoadBalancer). Reads only what the operator
-- writes: status.observedGeneration and the Ready, Degraded and Progressing conditions.
-- Written for Argo CD's sandbox (Lua 5.1, base and table libraries only: no string library).
hs = {}

local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function describe(c)
  local text = c.reason or c.type
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

local generation = obj.metadata.generation
if obj.status == nil or obj.status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end
if generation ~= nil and obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator: status is for generation " .. tostring(obj.status.observedGeneration)
    .. ", the spec is generation " .. tostring(generation)
  return hs
end

local ready = condition("Ready")
if ready == nil or (generation ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report the Ready condition"
  return hs
end

local degraded = condition("Degraded")
local progressing = condition("Progressing")

if ready.status == "True" then
  if degraded ~= nil and degraded.status == "True" then
    -- Traffic is served, but something the spec asks for is not in effect (e.g. ServiceMonitorUnavailable).
    hs.status = "Degraded"
    hs.message = describe(degraded) .. " (traffic is served: " .. (ready.message or "Ready") .. ")"
    return hs
  end
  if progressing ~= nil and progressing.status == "True" then
    hs.status = "Progressing"
    hs.message = describe(progressing)
    return hs
  end
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

if ready.status == "False" and ready.reason == "ScaledToZero" then
  -- Deliberately not serving (spec.replicas is 0): neither a failure nor work in progress.
  hs.status = "Suspended"
  hs.message = describe(ready)
  return hs
end
if ready.status ~= "False" or ready.reason == "ProxiesNotReady" then
  -- Ready Unknown, or proxies starting: the operator is still converging.
  hs.status = "Progressing"
  hs.message = describe(ready)
  return hs
end

-- Ready=False for a problem: NoBackends, ServiceNotFound, ServicePortNotFound, CABundleUnavailable, TLSSecretUnavailable, InvalidSpec,
-- NameConflict, ReconcileFailed, or a reason this check does not know yet.
hs.status = "Degraded"
hs.message = describe(ready)
return hs
