# bash completion for qbd(8)
_qbd()
{
	local cur prev
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	-c | --config)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-u | --unmap | -i | --info)
		# Mapped devices and their volumes, as far as sysfs shows them.
		local d words=()
		for d in /sys/block/qbd[0-9]*; do
			[[ -r $d/qbd/pool ]] || continue
			words+=("/dev/${d##*/}" "$(<"$d/qbd/pool")/$(<"$d/qbd/volume")")
		done
		COMPREPLY=($(compgen -W "${words[*]}" -- "$cur"))
		return
		;;
	-m | --map)
		COMPREPLY=($(compgen -W "tcp:// rdma://" -- "$cur"))
		compopt -o nospace 2>/dev/null
		return
		;;
	-o | --options)
		# Complete the key after the last comma, keeping what comes before it.
		local head=
		[[ $cur == *,* ]] && head=${cur%,*},
		COMPREPLY=($(compgen -P "$head" -W "io_depth= nr_queues= io_timeout= conn_timeout= heartbeat_interval= heartbeat_timeout= read_bps= write_bps= read_iops= write_iops=" -- "${cur##*,}"))
		compopt -o nospace 2>/dev/null
		return
		;;
	esac
	COMPREPLY=($(compgen -W "-m --map -u --unmap -l --list -i --info -v --version -h --help -c --config --ro -o --options --force --json -V --verbose" -- "$cur"))
}
complete -F _qbd qbd
