//! IPv4 and IPv6 networks for `IpAddress` / `NotIpAddress`.

use std::net::IpAddr;

/// An IPv4 or IPv6 network.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub(crate) addr: IpAddr,
    pub(crate) prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok()?,
            None => max,
        };
        if prefix > max {
            return None;
        }
        Some(Cidr { addr, prefix })
    }

    /// First and last address as integers, and whether it is IPv4.
    pub(crate) fn range(&self) -> (u128, u128, bool) {
        let (v, bits, v4) = match self.addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32u32, true),
            IpAddr::V6(a) => (u128::from(a), 128u32, false),
        };
        let host_bits = bits - u32::from(self.prefix);
        let mask: u128 = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        (v & !mask, (v & !mask) | mask, v4)
    }

    pub(crate) fn contains(&self, ip: &IpAddr) -> bool {
        let (lo, hi, v4) = self.range();
        match ip {
            IpAddr::V4(a) if v4 => {
                let x = u128::from(u32::from(*a));
                lo <= x && x <= hi
            }
            IpAddr::V6(a) if !v4 => {
                let x = u128::from(*a);
                lo <= x && x <= hi
            }
            _ => false,
        }
    }
}

/// Turn an integer back into an address of the given family.
pub(crate) fn ip_from(v: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(std::net::Ipv4Addr::from(
            u32::try_from(v & 0xffff_ffff).unwrap_or(0),
        ))
    } else {
        IpAddr::V6(std::net::Ipv6Addr::from(v))
    }
}
