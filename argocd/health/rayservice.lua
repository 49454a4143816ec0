-- Argo CD health of a KubeRay RayService (ray.io/v1). Argo CD sets the global `obj`.
-- KubeRay 1.7 reports the conditions Ready (serve endpoints exist), UpgradeInProgress (a new
-- cluster is being prepared next to the active one), RollbackInProgress (an upgrade is being
-- undone), Suspending and Suspended (spec.suspend), and per-application Serve status for the
-- active and the pending cluster.
local hs = {}

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

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

local function failedApplication(serviceStatus)
  if serviceStatus == nil or serviceStatus.applicationStatuses == nil then
    return nil, nil
  end
  for name, app in pairs(serviceStatus.applicationStatuses) do
    if app.status == "DEPLOY_FAILED" or app.status == "UNHEALTHY" then
      return name, app
    end
  end
  return nil, nil
end

local function describeApplication(prefix, name, app)
  local text = prefix .. "Serve application " .. name .. " is " .. app.status
  if app.message ~= nil and app.message ~= "" then
    text = text .. ": " .. app.message
  end
  return text
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the KubeRay operator to report status"
  return hs
end

local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the KubeRay operator to observe generation " .. generation
  return hs
end

-- Suspension first: while suspending or suspended, Ready is False on purpose.
if isTrue(condition("Suspended")) then
  hs.status = "Suspended"
  hs.message = "RayService is suspended"
  return hs
end
if isTrue(condition("Suspending")) then
  hs.status = "Progressing"
  hs.message = "RayService is suspending"
  return hs
end

local name, app = failedApplication(obj.status.activeServiceStatus)
if name ~= nil then
  hs.status = "Degraded"
  hs.message = describeApplication("", name, app)
  return hs
end

local ready = condition("Ready")

if isTrue(condition("RollbackInProgress")) then
  hs.status = "Progressing"
  hs.message = "Rolling back an upgrade"
  if isTrue(ready) then
    hs.message = hs.message .. "; the active cluster keeps serving"
  end
  return hs
end

if isTrue(ready) then
  if isTrue(condition("UpgradeInProgress")) then
    local pendingName, pendingApp = failedApplication(obj.status.pendingServiceStatus)
    if pendingName ~= nil then
      -- The new cluster cannot serve: the upgrade will not finish, the old cluster keeps serving.
      hs.status = "Degraded"
      hs.message = describeApplication("Upgrade stuck: ", pendingName, pendingApp)
      return hs
    end
    hs.status = "Progressing"
    hs.message = "Upgrade in progress; the active cluster keeps serving"
    return hs
  end
  hs.status = "Healthy"
  hs.message = "Serving with " .. (obj.status.numServeEndpoints or 0) .. " endpoint(s)"
  return hs
end

if ready ~= nil then
  if ready.reason == "Initializing" or ready.reason == nil or ready.reason == "" then
    hs.status = "Progressing"
    hs.message = "Waiting for the Serve applications to become ready"
  else
    -- InitializingTimeout, ZeroServeEndpoints, ValidationFailed: it should serve and does not.
    hs.status = "Degraded"
    hs.message = ready.reason
    if ready.message ~= nil and ready.message ~= "" then
      hs.message = hs.message .. ": " .. ready.message
    end
  end
  return hs
end

hs.status = "Progressing"
hs.message = "Waiting for the RayService conditions"
return hs
