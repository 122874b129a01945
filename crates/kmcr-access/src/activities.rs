//! National RBAC activities (B codes) and the table of what each includes, expanded once when a role profile is taken
//! up, so that a decision only looks a code up. Finding a person and seeing the banner needs no activity: every role
//! profile at an organisation party to the sharing agreement may (see `decide`).

use std::collections::BTreeSet;

/// A national RBAC activity code such as `B0360`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Activity(&'static str);

/// The activities KMCR's rules name, with what each includes. An activity not in this table is kept (as an unknown
/// code it grants nothing here) so that the audit shows what the role profile held.
pub const ACTIVITIES: &[(Activity, &str, &[Activity])] = &[
    (
        Activity::VIEW_DETAILED_HEALTH_RECORDS,
        "View Detailed Health Records",
        &[Activity::VIEW_SUMMARY_RECORDS, Activity::VIEW_PATIENT_MEDICATION],
    ),
    (Activity::VIEW_SUMMARY_RECORDS, "View Summary Records", &[Activity::VIEW_PATIENT_MEDICATION]),
    (Activity::VIEW_PATIENT_MEDICATION, "View Patient Medication", &[]),
    (Activity::ACCESS_SENSITIVE_FLAGGED_RECORDS, "Access Sensitive Flagged Records", &[]),
    (
        Activity::TEMPORARY_ACCESS_TO_SEALED_DATA,
        "Gain Temporary Access to Patient Sealed Data Without Patient Permission",
        &[Activity::ACCESS_SENSITIVE_FLAGGED_RECORDS],
    ),
    (Activity::EMERGENCY_ACCESS, "Emergency Access (break-glass)", &[]),
    (Activity::LEGAL_ACCESS, "Legal Access", &[]),
    (Activity::LOCAL_SYSTEM_ADMINISTRATION, "Local System Administration", &[]),
];

impl Activity {
    pub const VIEW_DETAILED_HEALTH_RECORDS: Activity = Activity("B0360");
    pub const VIEW_SUMMARY_RECORDS: Activity = Activity("B0370");
    pub const VIEW_PATIENT_MEDICATION: Activity = Activity("B0401");
    pub const ACCESS_SENSITIVE_FLAGGED_RECORDS: Activity = Activity("B1611");
    pub const TEMPORARY_ACCESS_TO_SEALED_DATA: Activity = Activity("B0083");
    pub const EMERGENCY_ACCESS: Activity = Activity("B0168");
    pub const LEGAL_ACCESS: Activity = Activity("B0082");
    pub const LOCAL_SYSTEM_ADMINISTRATION: Activity = Activity("B0062");

    pub fn code(self) -> &'static str {
        self.0
    }

    /// The known activity of a code as CIS2 writes it: `B0360`, or `D8007:C8008:B0360` (the last part counts).
    pub fn known(text: &str) -> Option<Activity> {
        let code = text.rsplit(':').next()?.trim();
        ACTIVITIES.iter().map(|(activity, _, _)| *activity).find(|activity| activity.0 == code)
    }
}

/// The activities of a role profile, with every included activity added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivitySet {
    known: BTreeSet<Activity>,
    /// Codes granted that KMCR has no rule for, kept for the audit.
    pub unknown_codes: Vec<String>,
}

impl ActivitySet {
    /// Expands granted codes through [`ACTIVITIES`] until nothing more is included.
    pub fn expand<'a>(granted: impl IntoIterator<Item = &'a str>) -> ActivitySet {
        let mut set = ActivitySet::default();
        let mut pending = Vec::new();
        for text in granted {
            match Activity::known(text) {
                Some(activity) => pending.push(activity),
                None => set.unknown_codes.push(text.rsplit(':').next().unwrap_or(text).trim().to_string()),
            }
        }
        while let Some(activity) = pending.pop() {
            if set.known.insert(activity) {
                let included = ACTIVITIES.iter().find(|(known, _, _)| *known == activity).map_or(&[][..], |row| row.2);
                pending.extend_from_slice(included);
            }
        }
        set
    }

    pub fn has(&self, activity: Activity) -> bool {
        self.known.contains(&activity)
    }

    pub fn codes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.known.iter().map(|activity| activity.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granted_activities_bring_what_they_include() {
        let set = ActivitySet::expand(["D8007:C8008:B0083", "B0360", "B9999"]);
        assert!(set.has(Activity::ACCESS_SENSITIVE_FLAGGED_RECORDS));
        assert!(set.has(Activity::VIEW_SUMMARY_RECORDS));
        assert!(set.has(Activity::VIEW_PATIENT_MEDICATION));
        assert!(!set.has(Activity::EMERGENCY_ACCESS));
        assert_eq!(set.unknown_codes, vec!["B9999".to_string()]);
    }
}
