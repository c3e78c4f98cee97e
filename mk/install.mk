# keystone install (src/install): libssh for the SSH client of remote install
# (src/install/ssh.c); only API present in both libssh 0.10 (bookworm) and
# 0.11 (trixie).
PKGS += libssh
