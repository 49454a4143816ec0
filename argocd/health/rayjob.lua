-- Argo CD health of a KubeRay RayJob (ray.io/v1). Argo CD sets the global `obj`.
-- status.jobDeploymentStatus is KubeRay's view (cluster, submitter, deadlines);
-- status.jobStatus is Ray's own view of the job (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED).
-- KubeRay 1.7 deployment states: "" (new), Initializing, Running, Waiting, Retrying, Suspending,
-- Suspended, Complete, Failed, ValidationFailed. Retrying, Suspending and the starting states are
-- Progressing.
local hs = {}

local function withMessage(text)
  if obj.status.message ~= nil and obj.status.message ~= "" then
    return text .. ": " .. obj.status.message
  end
  return text
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the KubeRay operator to report status"
  return hs
end

local deployment = obj.status.jobDeploymentStatus or ""
local job = obj.status.jobStatus or ""

if deployment == "Complete" then
  if job == "SUCCEEDED" then
    hs.status = "Healthy"
    hs.message = "Ray job succeeded"
  else
    hs.status = "Degraded"
    hs.message = withMessage("Ray job finished with status " .. (job ~= "" and job or "unknown"))
  end
  return hs
end

if deployment == "Failed" or deployment == "ValidationFailed" then
  hs.status = "Degraded"
  local reason = obj.status.reason
  if reason == nil or reason == "" then
    reason = deployment
  end
  hs.message = withMessage("RayJob " .. reason)
  return hs
end

if deployment == "Suspended" then
  hs.status = "Suspended"
  hs.message = "RayJob is suspended"
  return hs
end
if deployment == "Waiting" then
  -- InteractiveMode: the cluster is up and KubeRay waits for someone to set spec.jobId.
  hs.status = "Suspended"
  hs.message = "RayJob is waiting for a job to be submitted (InteractiveMode)"
  return hs
end

hs.status = "Progressing"
if deployment == "Running" then
  hs.message = "Ray job " .. (job ~= "" and job or "submitted")
elseif deployment == "" then
  hs.message = "Waiting for the KubeRay operator to start the job"
else
  hs.message = "RayJob " .. deployment
end
return hs
