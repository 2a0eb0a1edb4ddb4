-- Trick: the plainest denial of service.
while true do end
