-- Argo CD health of a KubeRay RayCluster (ray.io/v1). Argo CD sets the global `obj`.
-- KubeRay 1.7 reports conditions (RayClusterProvisioned, HeadPodReady, ReplicaFailure,
-- RayClusterSuspending, RayClusterSuspended) and the older `status.state`.
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

local function describe(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c ~= nil and c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
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

if isTrue(condition("RayClusterSuspended")) or obj.status.state == "suspended" then
  hs.status = "Suspended"
  hs.message = "RayCluster is suspended"
  return hs
end
if isTrue(condition("RayClusterSuspending")) then
  hs.status = "Progressing"
  hs.message = "RayCluster is suspending"
  return hs
end

local failure = condition("ReplicaFailure")
if isTrue(failure) then
  hs.status = "Degraded"
  hs.message = describe(failure, "KubeRay failed to create or delete a Ray pod")
  return hs
end
if obj.status.state == "failed" then
  hs.status = "Degraded"
  hs.message = obj.status.reason or "RayCluster failed"
  return hs
end

local head = condition("HeadPodReady")
local provisioned = condition("RayClusterProvisioned")
if head ~= nil and head.status ~= "True" then
  if isTrue(provisioned) then
    -- The cluster was up once and its head is gone: nothing can be scheduled now.
    hs.status = "Degraded"
    hs.message = "Head pod not ready: " .. describe(head, "unknown reason")
  else
    hs.status = "Progressing"
    hs.message = "Waiting for the head pod: " .. describe(head, "starting")
  end
  return hs
end

if obj.status.state == "ready" or (isTrue(head) and isTrue(provisioned)) then
  hs.status = "Healthy"
  local ready = obj.status.readyWorkerReplicas or 0
  local desired = obj.status.desiredWorkerReplicas or 0
  hs.message = "Ray cluster ready, " .. ready .. "/" .. desired .. " workers ready"
  return hs
end

hs.status = "Progressing"
hs.message = describe(provisioned, "Waiting for the Ray pods")
return hs
