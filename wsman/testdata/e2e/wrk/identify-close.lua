close = true
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "identify.lua")
