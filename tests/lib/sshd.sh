# An sshd of the test's own on 127.0.0.1 (source after assert.sh, with $T a
# private temp directory): its host key $T/host_key, root logs in by the
# key $T/id only.  sshd_start [EXTRA CONFIG LINE…] starts it (again) on
# $SSHD_PORT; sshd_stop ends it (the test's EXIT trap must call it).
SSHD_PID=
sshd_setup() {
	[ -x /usr/sbin/sshd ] || { echo "no /usr/sbin/sshd (openssh-server)"; exit 77; }
	ssh-keygen -q -t ed25519 -N '' -C test-host -f "$T/host_key"
	ssh-keygen -q -t ed25519 -N '' -C test-operator -f "$T/id"
	cp "$T/id.pub" "$T/authorized_keys"
	SSHD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p /run/sshd
}
sshd_start() {
	sshd_stop
	{
		echo "ListenAddress 127.0.0.1:$SSHD_PORT"
		echo "HostKey $T/host_key"
		echo "AuthorizedKeysFile $T/authorized_keys"
		echo "PermitRootLogin prohibit-password"
		echo "PasswordAuthentication no"
		echo "KbdInteractiveAuthentication no"
		echo "UsePAM no"
		echo "StrictModes no"
		echo "PidFile $T/sshd.pid"
		for l in "$@"; do echo "$l"; done
	} >"$T/sshd_config"
	/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>>"$T/sshd.log" &
	SSHD_PID=$!
	local i
	for i in $(seq 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$SSHD_PORT),1)" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "sshd did not listen on 127.0.0.1:$SSHD_PORT: $(tail -5 "$T/sshd.log")"
}
sshd_stop() {
	[ -n "$SSHD_PID" ] || return 0
	kill "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=
}
