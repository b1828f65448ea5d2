# shellcheck shell=bash
# Sourced by sweeps/parallel.sh and sweeps/slurm-submit.sh: the metaplast flags a sweep
# sets for each seed itself, refused when the user's flags give them. (sweeps/slurm.sbatch
# keeps its own list: Slurm runs a copy of it from its spool, where this file is not.)
#   sweep_own_flag FLAG: 0 when FLAG (as given: --name or --name=value) is one of them
sweep_own_flag() {
    case $1 in
    --seed | --seed=* | --threads | --threads=* | --run_dir | --run_dir=* | --res | --res=* | --test_name | \
        --test_name=* | --resume | --resume=*)
        return 0 ;;
    esac
    return 1
}
