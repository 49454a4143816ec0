-- Argo CD health of an Argo CD Application, for the sync waves of the root Application (Argo CD
-- stopped assessing Applications in 1.8). A child's own health can be stale: right after the root
-- changes a child's targetRevision the child still reports the health of the previous revision.
-- So the child is Healthy only when it has compared against the source it is asked for now, is
-- Synced, has no sync running, and reports Healthy; until then it is Progressing, and the next
-- wave (the Ray resources after the operator) waits.
local hs = {}
hs.status = "Progressing"
hs.message = ""

local function sourcesOf(holder)
  if holder == nil then
    return {}
  end
  if holder.sources ~= nil and #holder.sources > 0 then
    return holder.sources
  end
  if holder.source ~= nil then
    return { holder.source }
  end
  return {}
end

local function sameSources(wanted, compared)
  if #wanted ~= #compared then
    return false
  end
  for i, source in ipairs(wanted) do
    local other = compared[i]
    if (source.repoURL or "") ~= (other.repoURL or "") or (source.targetRevision or "") ~= (other.targetRevision or "")
      or (source.path or "") ~= (other.path or "") or (source.chart or "") ~= (other.chart or "") then
      return false
    end
  end
  return true
end

local status = obj.status
if status == nil or status.health == nil or status.health.status == nil then
  hs.message = "Waiting for the Application to be assessed"
  return hs
end

local sync = status.sync or {}
if not sameSources(sourcesOf(obj.spec), sourcesOf(sync.comparedTo)) then
  hs.message = "Waiting for the Application to compare against the requested revision"
  return hs
end
if obj.operation ~= nil or (status.operationState ~= nil and status.operationState.phase == "Running") then
  hs.message = "Sync in progress"
  return hs
end
if sync.status ~= "Synced" then
  hs.message = "Waiting for the Application to be synced to " .. (sync.revision or "the requested revision")
  return hs
end

hs.status = status.health.status
if status.health.message ~= nil then
  hs.message = status.health.message
end
return hs
