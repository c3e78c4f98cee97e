#!/bin/sh
# Stands in for zfs(8) ahead of it in PATH (tests/vm/test-disk.c): when the
# command line contains $ZFS_CUT_AT, the calling program (keystone, which
# runs zfs directly) is killed with SIGKILL before the command runs, as a
# power cut at that point would stop it, and the command line is written to
# /tmp/zfs-cut.log (keystone captures zfs's own output).  Otherwise the
# real zfs runs.
for z in /usr/sbin/zfs /sbin/zfs; do
	[ -x "$z" ] && break
done
if [ -n "${ZFS_CUT_AT:-}" ]; then
	case " $* " in
	*"$ZFS_CUT_AT"*)
		echo "zfs-cut: killing $PPID before: zfs $*" >>/tmp/zfs-cut.log
		kill -KILL "$PPID"
		exit 137 ;;
	esac
fi
exec "$z" "$@"
