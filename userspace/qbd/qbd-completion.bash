# bash completion for qbd(8)
_qbd_mapped()
{
	# Mapped devices and their volumes, as far as sysfs shows them.
	local d words=()
	for d in /sys/block/qbd[0-9]*; do
		[[ -r $d/qbd/pool ]] || continue
		words+=("/dev/${d##*/}" "$(<"$d/qbd/pool")/$(<"$d/qbd/volume")")
	done
	COMPREPLY=($(compgen -W "${words[*]}" -- "$cur"))
}

_qbd()
{
	local cur prev w cmd=
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	# The command given so far decides what -t takes.
	for w in "${COMP_WORDS[@]}"; do
		case $w in
		-m | --map | -s | --set-throttle | -R | --resume) cmd=$w ;;
		esac
	done
	case $prev in
	-c | --config | -f | --file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-u | --unmap | -i | --info | -s | --set-throttle | -S | --suspend | -R | --resume | -z | --resize | -r | --remap)
		_qbd_mapped
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
		COMPREPLY=($(compgen -P "$head" -W "io_depth= nr_queues= io_timeout= conn_timeout= heartbeat_interval= heartbeat_timeout= read_bps= write_bps= read_iops= write_iops= digest" -- "${cur##*,}"))
		compopt -o nospace 2>/dev/null
		return
		;;
	-t | --throttle)
		if [[ $cmd == -R || $cmd == --resume ]]; then
			COMPREPLY=($(compgen -W "normal error discard" -- "$cur"))
			return
		fi
		local head= keys="read_bps= write_bps= read_iops= write_iops="
		[[ $cmd == -s || $cmd == --set-throttle ]] && keys+=" burst_ms="
		[[ $cur == *,* ]] && head=${cur%,*},
		COMPREPLY=($(compgen -P "$head" -W "$keys" -- "${cur##*,}"))
		compopt -o nospace 2>/dev/null
		return
		;;
	-k | --size | --retry-timeout)
		return
		;;
	esac
	COMPREPLY=($(compgen -W "-m --map -u --unmap -l --list -i --info -s --set-throttle -S --suspend -R --resume -z --resize -r --remap --watch -M --map-all -U --unmap-all -v --version -h --help -c --config --ro -o --options -t --throttle -k --size -f --file --retry-timeout --force --json -V --verbose" -- "$cur"))
}
complete -F _qbd qbd
