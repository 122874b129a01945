"""A SMART App Launch (standalone) against KMCR by a real SMART client library, fhirclient, as an app would run it.

fhirclient finds KMCR's OAuth endpoints in its CapabilityStatement, builds the authorisation URL (with PKCE, S256), and
after the callback exchanges the code and makes the FHIR requests. The person's part, signing in on KMCR's page, is
played by `requests` as a browser without script: it keeps the sign-in cookie, posts the form, chooses a role profile
if asked, and stops at the redirect to the app, whose URL it hands to fhirclient.

Which people to read is found with the region-wide demo client (a configured, audited exception), from each Patient's
source (its `meta.tag` ODS code) and registered practice (`generalPractitioner`): the person whose record the user's
GP practice wrote (so registered there), and a person registered elsewhere of whom the practice holds no record.

Run by crates/kmcr/tests/it/smart_client.rs, which asserts on the one JSON line this prints.
"""

import argparse
import base64
import html.parser
import json
import urllib.parse

import requests
from fhirclient import client, server
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient


class FormFields(html.parser.HTMLParser):
    """The action of the page's form, its hidden fields, and the values of its radio buttons."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.hidden = {}
        self.radios = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action")
        if tag == "input" and attrs.get("type") == "hidden":
            self.hidden[attrs["name"]] = attrs.get("value", "")
        if tag == "input" and attrs.get("type") == "radio":
            self.radios.append(attrs.get("value"))


def form_of(page):
    fields = FormFields()
    fields.feed(page.text)
    assert fields.action, f"no form on the page at {page.url}: {page.status_code}"
    return fields


def sign_in(authorize_url, username, password, redirect_uri):
    """The person at the browser: signs in on KMCR's page; the URL KMCR sends the browser back to the app with."""
    browser = requests.Session()
    page = browser.get(authorize_url, allow_redirects=False)
    assert page.status_code == 200, f"the sign-in page: {page.status_code} {page.text}"
    form = form_of(page)
    fields = dict(form.hidden, username=username, password=password)
    answer = browser.post(urllib.parse.urljoin(page.url, form.action), data=fields, allow_redirects=False)
    if answer.status_code == 200 and form_of(answer).hidden.get("action") == "choose-role":
        choice = form_of(answer)
        fields = dict(choice.hidden, role_profile=choice.radios[0])
        answer = browser.post(urllib.parse.urljoin(page.url, choice.action), data=fields, allow_redirects=False)
    assert answer.status_code == 303, f"signing in: {answer.status_code} {answer.text}"
    location = answer.headers["Location"]
    assert location.startswith(redirect_uri), location
    return location


def status_of(call):
    """200 if the call succeeds, else the HTTP status fhirclient raised for."""
    try:
        call()
        return 200
    except server.FHIRUnauthorizedException:
        return 401
    except server.FHIRPermissionDeniedException:
        return 403
    except server.FHIRNotFoundException:
        return 404
    except requests.HTTPError as error:
        return error.response.status_code


def ids(resources):
    return [resource.id for resource in resources]


def token_claims(access_token):
    """The access token's claims as KMCR signed them (read, not checked: KMCR checks them on every request)."""
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def region_wide_session(base, client_id, client_secret):
    token = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
    )
    token.raise_for_status()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return session


ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"


def search(session, url):
    bundle = session.get(url)
    bundle.raise_for_status()
    return [entry["resource"] for entry in bundle.json().get("entry", [])]


def source_of(resource):
    return next((tag["code"] for tag in resource.get("meta", {}).get("tag", []) if tag.get("system") == ODS_SYSTEM), None)


def choose_people(viewer, base, practice):
    """(related, unrelated): a Patient record the practice wrote, and a person registered elsewhere that the practice
    holds nothing of, with an Observation (its id)."""
    organisation_ods = {}

    def registered_practices(patient):
        codes = set()
        for reference in patient.get("generalPractitioner", []):
            organisation = reference["reference"]
            if organisation not in organisation_ods:
                found = viewer.get(f"{base}/fhir/{organisation}")
                found.raise_for_status()
                identifiers = found.json().get("identifier", [])
                organisation_ods[organisation] = next(i["value"] for i in identifiers if i["system"] == ODS_SYSTEM)
            codes.add(organisation_ods[organisation])
        return codes

    patients = search(viewer, f"{base}/fhir/Patient?_count=1000")
    related = next((patient["id"] for patient in patients if source_of(patient) == practice), None)
    assert related, f"the practice {practice} wrote no Patient record"
    for patient in patients:
        if source_of(patient) == practice or practice in registered_practices(patient):
            continue
        observations = search(viewer, f"{base}/fhir/Observation?subject=Patient/{patient['id']}")
        if observations:
            return related, {"patient": patient["id"], "observation": observations[0]["id"]}, len(patients)
    raise AssertionError(f"everyone in the demo region is registered at {practice}: no one to be refused")


def main():
    arguments = argparse.ArgumentParser()
    for name in ["base", "app-id", "redirect-uri", "username", "password", "viewer-id", "viewer-secret"]:
        arguments.add_argument(f"--{name}", required=True)
    arguments = arguments.parse_args()

    smart = client.FHIRClient(
        settings={
            "app_id": arguments.app_id,
            "api_base": f"{arguments.base}/fhir",
            "redirect_uri": arguments.redirect_uri,
            "scope": "openid fhirUser user/*.rs",
        }
    )
    # KMCR has no patient picker: a standalone launch without patient context.
    smart.wants_patient = False
    authorize_url = smart.authorize_url
    asked = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize_url).query))
    callback = sign_in(authorize_url, arguments.username, arguments.password, arguments.redirect_uri)
    smart.handle_callback(callback)
    claims = token_claims(smart.server.auth.access_token)

    # The user's own Patient search works (what it shows of whom is KMCR's access rules' business).
    n_patients_found_by_user = len(ids(Patient.where({"_count": "100"}).perform_resources_iter(smart.server)))

    viewer = region_wide_session(arguments.base, arguments.viewer_id, arguments.viewer_secret)
    related, unrelated, n_patients_in_region = choose_people(viewer, arguments.base, claims["kmcr"]["ods_code"])
    patient = Patient.read(related, smart.server)
    observations = ids(Observation.where({"subject": f"Patient/{related}"}).perform_resources_iter(smart.server))
    everything = smart.server.request_json(f"Patient/{related}/$everything")

    print(
        json.dumps(
            {
                "authorize": {
                    "code_challenge_method": asked.get("code_challenge_method"),
                    "has_code_challenge": bool(asked.get("code_challenge")),
                    "aud": asked.get("aud"),
                },
                "ready": smart.ready,
                "user": {
                    "kind": claims["kmcr"]["kind"],
                    "user_id": claims["kmcr"]["user_id"],
                    "ods_code": claims["kmcr"]["ods_code"],
                    "scope": claims["scope"],
                },
                "n_patients_found_by_user": n_patients_found_by_user,
                "n_patients_in_region": n_patients_in_region,
                "related": {
                    "patient_read_id": patient.id,
                    "patient_has_name": bool(patient.name),
                    "n_observations": len(observations),
                    "n_everything_entries": len(everything.get("entry", [])),
                },
                "unrelated": {
                    "observation_read": status_of(lambda: Observation.read(unrelated["observation"], smart.server)),
                    "everything": status_of(
                        lambda: smart.server.request_json(f"Patient/{unrelated['patient']}/$everything")
                    ),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
