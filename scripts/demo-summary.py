# Summarises `keystone eval --json` output for make demo.
import json
import sys

c = json.load(sys.stdin)
d, h = c["disk"], c["host"]
print("host %s: role %s, kernel %s, time zone %s" % (h["name"], h["role"], c["boot"]["kernel"], h["time-zone"]))
print("disk %s: ESP %s, swap %s, pool %s (%s, %s), credstore %s" % (
    d["device"], d["esp-size"], d["swap-size"], d["pool"], d["encryption"], d["compression"], d["credstore-size"]))
print("datasets: " + ", ".join("%s/%s -> %s" % (d["pool"], n, v["mountpoint"]) for n, v in d["datasets"].items()))
sb, tpm = c["secure-boot"], c["tpm"]
print("secure boot: %s (keys in %s); TPM unlock: %s, PCRs %s%s" % (
    "on" if sb["enable"] else "off", sb["key-dir"], "on" if tpm["enable"] else "off",
    "+".join(str(p) for p in tpm["pcrs"]), " (+15 at zero)" if tpm["bind-pcr15"] else ""))
print("users: " + ", ".join("%s (%d ssh key%s)" % (u, len(v["ssh-keys"]), "" if len(v["ssh-keys"]) == 1 else "s")
                            for u, v in sorted(c["users"].items())))
