-- Argo CD health of an Argo CD Application: its own reported health. Argo CD no longer
-- assesses Applications by default (since 1.8); with this check, sync waves of the root
-- Application wait until the KubeRay CRDs and operator Applications are Healthy.
local hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil and obj.status.health ~= nil and obj.status.health.status ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs
