//! The two libm functions the binary calls (`pow` and `log`, from SQLite's math and a few
//! float conversions), defined here from the `libm` crate so the binary no longer links
//! glibc's libm.so. Mapping that library and resolving its symbols at start cost every MCP
//! server about 0.5 MB of peak RSS (its code and symbol tables, 64 KB of fault-around at a
//! time) for two functions. The definitions only exist on glibc Linux, where the binary
//! would otherwise need libm.so; everywhere else the system's are used.

/// `pow(3)`, as libm.so would answer it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// `log(3)`, as libm.so would answer it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
pub extern "C" fn log(x: f64) -> f64 {
    libm::log(x)
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #[test]
    fn pow_and_log_agree_with_the_usual_values() {
        assert_eq!(super::pow(2.0, 10.0), 1024.0);
        assert_eq!(super::pow(9.0, 0.5), 3.0);
        assert!(super::pow(-8.0, 0.5).is_nan());
        assert_eq!(super::log(1.0), 0.0);
        assert!((super::log(std::f64::consts::E) - 1.0).abs() < 1e-15);
        assert_eq!(super::log(0.0), f64::NEG_INFINITY);
    }
}
