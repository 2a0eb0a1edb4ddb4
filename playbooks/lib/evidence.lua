-- lib/evidence — evidence objects in the artifact bucket, each with its
-- SHA-256 in a manifest object beside them.
--
-- The hash is computed here (the sandbox's hash.sha256_raw) and sent with
-- the upload as ChecksumSHA256: S3 stores the object only if the bytes it
-- received hash to the same value, so the manifest's hash is the stored
-- object's.
--
-- Every object is new: IfNoneMatch "*" (S3 answers 412 when the key exists),
-- which the sandbox requires, with the artifact bucket and the run's prefix
-- evidence/<account>/<region>/<resource>/<finding id>/ (sandbox/rules.c).
-- So a manifest is written once, never updated: what comes later gets a
-- manifest of its own beside it.

local config = require "config"
local aws = require "lib.aws"

local M = {}

-- The per-finding prefix, from config.evidence.prefix.
function M.prefix(ctx, resource)
  local fields = { account = ctx.account, region = ctx.region, resource = resource, finding = ctx.id }
  return (config.evidence.prefix:gsub("{(%w+)}", function(name)
    return fields[name] or ""
  end))
end

-- Whether an object exists (HeadObject).
function M.exists(bucket, key)
  local found, err = aws.try(s3.head_object, { Bucket = bucket, Key = key })
  if found then
    return true
  end
  if aws.not_found(err) then
    return false
  end
  error(err)
end

-- Uploads body to bucket/key; returns the manifest entry.
function M.put(bucket, key, body, content_type)
  local digest = hash.sha256_raw(body)
  s3.put_object {
    Bucket = bucket,
    Key = key,
    Body = body,
    ContentType = content_type,
    ChecksumSHA256 = base64.encode(digest),
    IfNoneMatch = "*",
  }
  return {
    key = key,
    sha256 = hash.sha256(body),
    bytes = #body,
    content_type = content_type,
    stored_at = now(),
  }
end

-- Writes the manifest (all artifacts so far) beside them, named name or
-- config.evidence.manifest; returns its key.
function M.write_manifest(ctx, bucket, prefix, resource, artifacts, notes, name)
  local manifest = {
    finding = { id = ctx.id, type = ctx.type, severity = ctx.severity,
                account = ctx.account, region = ctx.region },
    resource = resource,
    written_by = "deadbolt",
    written_at = now(),
    artifacts = artifacts,
    notes = notes,
  }
  local key = prefix .. (name or config.evidence.manifest)
  local body = json.encode(manifest)
  s3.put_object {
    Bucket = bucket,
    Key = key,
    Body = body,
    ContentType = "application/json",
    ChecksumSHA256 = base64.encode(hash.sha256_raw(body)),
    IfNoneMatch = "*",
  }
  return key
end

return M
