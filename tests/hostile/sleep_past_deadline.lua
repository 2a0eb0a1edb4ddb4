-- Trick: sleep past the wall-clock budget in one call the hook cannot see.
sleep(30)
return "slept"
