//! The FHIR R4 element model: every resource, data type and backbone element with the elements it may hold, their
//! types and whether they repeat. Generated into `r4.rs` from the official StructureDefinitions
//! (`scripts/generate-fhir-structure.py`); `validate.rs` walks resources against it.

#[rustfmt::skip]
mod r4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Resource,
    Complex,
    Primitive,
    /// An element defined inside a resource or type (`Patient.contact`).
    Backbone,
}

/// A type and its elements, sorted by name: (name, type, repeats). A choice element is listed once per type it may
/// take (`deceasedBoolean`, `deceasedDateTime`). A primitive element's `_name` sibling (its id and extensions) is not
/// listed: it is allowed beside every primitive element.
#[derive(Debug)]
pub struct TypeDefinition {
    pub name: &'static str,
    pub kind: Kind,
    /// The elements a value of this type must hold (minimum cardinality 1): the element as the specification names
    /// it (`status`, `medication[x]`) and the names that satisfy it: itself, or every type of a choice element
    /// (`medicationCodeableConcept`, `medicationReference`).
    pub required: &'static [(&'static str, &'static [&'static str])],
    /// Each choice element (`deceased[x]`) and the names it may take (`deceasedBoolean`, `deceasedDateTime`): a value
    /// holds at most one of them.
    pub choices: &'static [(&'static str, &'static [&'static str])],
    pub elements: &'static [(&'static str, &'static str, bool)],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElementDefinition {
    pub name: &'static str,
    pub type_name: &'static str,
    pub repeats: bool,
}

impl TypeDefinition {
    pub fn element(&self, name: &str) -> Option<ElementDefinition> {
        let idx = self.elements.binary_search_by(|(element, _, _)| (*element).cmp(name)).ok()?;
        let (name, type_name, repeats) = self.elements[idx];
        Some(ElementDefinition { name, type_name, repeats })
    }
}

/// A resource, data type or backbone element (`Patient.contact`) by name.
pub fn type_definition(name: &str) -> Option<&'static TypeDefinition> {
    let idx = r4::TYPES.binary_search_by(|definition| definition.name.cmp(name)).ok()?;
    Some(&r4::TYPES[idx])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_elements_are_sorted_and_every_element_type_is_defined() {
        assert!(r4::TYPES.windows(2).all(|pair| pair[0].name < pair[1].name));
        for definition in r4::TYPES {
            assert!(definition.elements.windows(2).all(|pair| pair[0].0 < pair[1].0), "{}", definition.name);
            for (element, type_name, _) in definition.elements {
                assert!(type_definition(type_name).is_some(), "{}.{element}: {type_name}", definition.name);
            }
        }
    }

    #[test]
    fn patient_elements_as_r4_defines_them() {
        let patient = type_definition("Patient").unwrap();
        assert_eq!(patient.kind, Kind::Resource);
        assert_eq!(
            patient.element("name"),
            Some(ElementDefinition { name: "name", type_name: "HumanName", repeats: true })
        );
        assert_eq!(patient.element("deceasedDateTime").map(|element| element.type_name), Some("dateTime"));
        assert_eq!(patient.element("contact").map(|element| element.type_name), Some("Patient.contact"));
        assert_eq!(patient.element("deceased"), None);
        assert_eq!(type_definition("Patient.contact").map(|definition| definition.kind), Some(Kind::Backbone));
        assert_eq!(type_definition("dateTime").map(|definition| definition.kind), Some(Kind::Primitive));
        assert_eq!(
            type_definition("Observation").unwrap().required,
            &[("code", &["code"][..]), ("status", &["status"][..])]
        );
        assert!(
            type_definition("MedicationRequest")
                .unwrap()
                .required
                .contains(&("medication[x]", &["medicationCodeableConcept", "medicationReference"][..]))
        );
        assert!(patient.required.is_empty());
    }
}
