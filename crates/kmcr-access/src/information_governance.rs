//! Who does information governance's work, and over what. Privacy Officers and Caldicott Guardians (R0001, R5105) of
//! an organisation party to the agreement review their own organisation's break-glass uses and read the audit of what
//! their own organisation's people and systems did. Those of the organisations configured as the region's IG function
//! (`AccessSettings::regional_information_governance`, an integrated care board say) do so for the whole region.

use kmcr_fhir::OdsCode;

use crate::decide::Rules;
use crate::principal::Principal;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InformationGovernanceScope {
    Region,
    Organisation(OdsCode),
}

impl InformationGovernanceScope {
    /// Whether work done by someone of `ods_code` (a break-glass use, an audited access) is within the scope.
    pub fn covers(&self, ods_code: &str) -> bool {
        match self {
            InformationGovernanceScope::Region => true,
            InformationGovernanceScope::Organisation(own) => own.as_str() == ods_code,
        }
    }
}

/// The scope of the caller's IG work, or `None` when the caller does none.
pub fn information_governance_scope(rules: Rules, principal: &Principal) -> Option<InformationGovernanceScope> {
    let Principal::User(user) = principal else { return None };
    let role = &user.role_profile;
    if !role.job_role.is_information_governance() || !rules.registry.is_party(&role.ods_code) {
        return None;
    }
    if rules.settings.regional_information_governance.contains(&role.ods_code) {
        Some(InformationGovernanceScope::Region)
    } else {
        Some(InformationGovernanceScope::Organisation(role.ods_code.clone()))
    }
}
