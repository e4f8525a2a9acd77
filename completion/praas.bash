# bash completion for praas(1), the PRaaS CLI.
# Installed as share/bash-completion/completions/praas (loaded on demand).
# The commands and their options follow cli/cmd-forwarding.c, cli/cmd-agent.c and
# cli/praas.c; test/package/completion.sh checks them against `praas --help`.

_praas()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local global_opts='--url --config --os-cloud -f --format --timeout -h --help --version'
	local commands='create list show set delete'
	local agent_commands='list'

	# An option's value: formats are known, the rest is free text.
	case $prev in
	-f | --format)
		COMPREPLY=($(compgen -W 'table json value' -- "$cur"))
		return
		;;
	--protocol)
		COMPREPLY=($(compgen -W 'tcp udp' -- "$cur"))
		return
		;;
	--config)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--url | --os-cloud | --timeout | --router | --internal-ip | --port | \
		--internal-port | --external-port | --description)
		return
		;;
	esac

	# The group and the command: the first two words that are not options
	# or option values.
	local i w group='' cmd=''
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		case $w in
		--url | --config | --os-cloud | -f | --format | --timeout | --router | --internal-ip | \
			--port | --internal-port | --external-port | --protocol | --description)
			((i++))
			;;
		-*) ;;
		*)
			if [[ -z $group ]]; then
				group=$w
			elif [[ -z $cmd ]]; then
				cmd=$w
			fi
			;;
		esac
	done

	if [[ -z $group ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W 'forwarding agent' -- "$cur"))
		fi
		return
	fi
	case $group in
	forwarding) ;;
	agent) commands=$agent_commands ;;
	*) return ;;
	esac
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	local opts
	case $group:$cmd in
	agent:list) opts='' ;;
	agent:*) return ;;
	esac
	[[ $group == agent ]] || case $cmd in
	create)
		opts='--router --internal-ip --port --internal-port --external-port --protocol --masquerade --description'
		;;
	list) opts='--router' ;;
	show | delete) opts='--router' ;;
	set)
		opts='--router --external-port --internal-port --internal-ip --port --description'
		;;
	*) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts $global_opts" -- "$cur"))
	fi
}
complete -F _praas praas
