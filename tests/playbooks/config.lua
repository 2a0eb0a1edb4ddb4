-- Settings for the test playbooks: a module, not a playbook (no steps).
return {
  status_tag = "deadbolt:status",
}
