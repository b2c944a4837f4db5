"""Where training runs: the device, and torchrun's environment (world size, rank, collectives).

Without torchrun every collective is the identity, so the training loop reads the same either way.
"""

import os

import torch
import torch.distributed as dist


def pick_device(name: str | None = None) -> torch.device:
    """CUDA > MPS > CPU unless `name` forces one (ValueError if that one is unknown or absent)."""
    if not name:
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise ValueError(f"unknown device {name!r} (expected cpu, cuda, cuda:N or mps)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r}: CUDA is not available on this machine")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r}: MPS is not available on this machine")
    return dev


class Dist:
    """torchrun's environment and process group (gloo on CPU, NCCL on GPU); a context manager that
    leaves the group on exit."""

    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world > 1
        self.main = self.rank == 0  # only rank 0 logs and writes files

    def setup(self, device: torch.device) -> torch.device:
        """Join the process group; the device this rank uses."""
        if not self.enabled:
            return device
        if device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return device

    def gather(self, obj) -> list:
        if not self.enabled:
            return [obj]
        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def any(self, flags: list[bool], device: torch.device) -> list[bool]:
        """Element-wise OR of `flags` over all ranks, so that every rank takes the same branch."""
        if not self.enabled:
            return flags
        t = torch.tensor([int(f) for f in flags], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return [bool(v) for v in t.tolist()]

    def mean(self, value: float, device: torch.device) -> float:
        """Mean of a float over all ranks."""
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return t.item() / self.world

    def __enter__(self) -> "Dist":
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled and dist.is_initialized():
            # Leave together: a rank whose peer has already torn the group down can block for
            # ever in the group's destructor (seen with gloo on a loaded CPU).
            dist.barrier()
            dist.destroy_process_group()


def hardware(world: int = 1) -> str:
    """What the run ran on, for the model card: "1 x NVIDIA H200" or "CPU (x86_64, 2 threads)"."""
    import platform

    if torch.cuda.is_available():
        name = f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    else:
        n = torch.get_num_threads()
        name = f"CPU ({platform.processor() or platform.machine()}, {n} thread{'s' if n != 1 else ''})"
    return name + (f", DistributedDataParallel over {world} processes" if world > 1 else "")
