"""Energy per sample of a spiking network, by the SNN literature's 45 nm convention (SPEC 3.3).

E_spiking = E_MAC x MACs + E_AC x SOPs, where MACs are the multiply-accumulates
of layers whose input is not spikes or event counts (the first, encoding layer
on a static image: every pixel value multiplies every weight it meets), and
SOPs are the synaptic operations of the layers fed by spikes (or event counts):
one accumulate per input event and weight it reaches (msenas.nn.monitor counts
both, exactly, while the network runs). The non-spiking network of the same
shape runs once per sample, not T times: E_dense = E_MAC x its MACs per step.

Constants: Horowitz, "Computing's energy problem", ISSCC 2014 (32-bit float at
45 nm: 4.6 pJ per multiply-accumulate, 0.9 pJ per accumulate), as used by
Spikformer (Zhou et al., ICLR 2023), SEW/Attention-SNN work and spikingjelly's
`op_counter.estimate_simple_energy`. Memory traffic is not counted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from msenas.config import Config, ConfigError

E_MAC_PJ = 4.6   # pJ per 32-bit float multiply-accumulate at 45 nm (Horowitz 2014)
E_AC_PJ = 0.9    # pJ per 32-bit float accumulate at 45 nm


class EnergyConfigError(ConfigError):
    """Bad energy constants; the message names the field."""


@dataclass(frozen=True)
class EnergyConfig(Config):
    """Energy per operation in pJ (defaults: 32-bit float at 45 nm)."""

    section: ClassVar[str] = "energy"
    error: ClassVar[type[ConfigError]] = EnergyConfigError

    e_mac_pj: float = E_MAC_PJ
    e_ac_pj: float = E_AC_PJ

    def validate(self) -> "EnergyConfig":
        for name in ("e_mac_pj", "e_ac_pj"):
            self.need(0 <= getattr(self, name) < 1e6, name, "must be a non-negative energy in pJ")
        return self

    def spiking_pj(self, macs: float, sops: float) -> float:
        """Energy of one sample in pJ: E_MAC x MACs (non-spike inputs) + E_AC x SOPs (spike inputs)."""
        return self.e_mac_pj * macs + self.e_ac_pj * sops

    def dense_pj(self, macs_per_step: float) -> float:
        """Energy in pJ of the non-spiking network of the same shape (one pass, every operation a MAC)."""
        return self.e_mac_pj * macs_per_step
