//! Why data is read: the purpose of use, as the audit records it (`v3-ActReason`).

pub const ACT_REASON_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Purpose {
    /// Care of the person by someone with a legitimate relationship (TREAT).
    DirectCare,
    /// Emergency access without a relationship (ETREAT, with BTG in the audit).
    BreakGlass,
    /// The person reading their own record (PATRQT).
    PatientSelf,
    /// Someone acting for the person, with their authority (FAMRQT).
    Proxy,
    /// Planning, research, analytics (HOPERAT): the national data opt-out applies.
    SecondaryUse,
}

impl Purpose {
    pub const ALL: [Purpose; 5] =
        [Purpose::DirectCare, Purpose::BreakGlass, Purpose::PatientSelf, Purpose::Proxy, Purpose::SecondaryUse];

    /// The `v3-ActReason` code of the purpose.
    pub fn act_reason(self) -> &'static str {
        match self {
            Purpose::DirectCare => "TREAT",
            Purpose::BreakGlass => "ETREAT",
            Purpose::PatientSelf => "PATRQT",
            Purpose::Proxy => "FAMRQT",
            Purpose::SecondaryUse => "HOPERAT",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::DirectCare => "direct-care",
            Purpose::BreakGlass => "break-glass",
            Purpose::PatientSelf => "patient-self",
            Purpose::Proxy => "proxy",
            Purpose::SecondaryUse => "secondary-use",
        }
    }

    pub fn parse(text: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|purpose| purpose.as_str() == text)
    }
}
