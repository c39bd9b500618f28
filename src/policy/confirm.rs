//! Confirmation of destructive calls (seed 003 §7.2): `confirm` must be exactly the
//! resource's name — byte for byte, no trimming, no case folding, no Unicode
//! normalization — so an agent must have just read (or made) the resource to delete it.
//! The refusal never says the name.

use super::PolicyError;

/// Refuse unless `confirm` is present and equal to `name` (a resource without a name
/// cannot be confirmed at all).
pub fn check(confirm: Option<&str>, name: &str, kind: &'static str) -> Result<(), PolicyError> {
    match confirm {
        Some(given) if !name.is_empty() && given == name => Ok(()),
        Some(_) => Err(PolicyError::ConfirmMismatch { kind, given: true }),
        None => Err(PolicyError::ConfirmMismatch { kind, given: false }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_name_confirms() {
        assert_eq!(check(Some("mark-site"), "mark-site", "application"), Ok(()));
        let table: [Option<&str>; 14] = [
            None,
            Some(""),
            Some("site"),
            Some("mark-sit"),
            Some("mark-site2"),
            Some("MARK-SITE"),
            Some("Mark-site"),
            Some(" mark-site"),
            Some("mark-site "),
            Some("mark-site\n"),
            Some("mark-site\0"),
            Some("mаrk-site"),
            Some("mark\u{2010}site"),
            Some("mark-site\u{200b}"),
        ];
        for confirm in table {
            assert!(
                matches!(
                    check(confirm, "mark-site", "application"),
                    Err(PolicyError::ConfirmMismatch { .. })
                ),
                "{confirm:?}"
            );
        }
    }

    #[test]
    fn a_resource_without_a_name_cannot_be_confirmed() {
        assert!(check(Some(""), "", "database").is_err());
    }
}
