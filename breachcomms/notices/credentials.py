"""Finding requests for passwords, PINs, one-time codes or card numbers in English, Swedish, Russian, Indonesian.

A request is a verb that asks the reader to hand something over ("enter", "ange", "введите",
"masukkan") followed within a few words by a secret ("password", "lösenord", "пароль", "kata sandi").
The same words in a negated clause are the reassurance every notice should carry ("we will never ask
for your password", "dela aldrig din kod", "никому не сообщайте код", "jangan berikan kode OTP"), so a
negation before the verb in the same clause makes it a statement, not a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERBS = {
    # "email"/"text" are nouns in "email address, password" (a list of what was exposed): not verbs there.
    "en": r"enter|re-?enter|type|input|confirm|verify|validate|send|e-?mail(?!\W+address)|text(?!\W+message)|"
    r"reply|respond|"
    r"provide|submit|give|share|tell|disclose|fill\s+in|let\s+us\s+know|call\s+us\s+with|read\s+out",
    "sv": r"ange|uppge|fyll\s+i|skriv\s+in|skriv|knappa\s+in|bekräfta|verifiera|skicka|sms:a|mejla|"
    r"svara|lämna|dela|berätta|logga\s+in\s+med|legitimera\s+dig\s+med|identifiera\s+dig\s+med",
    "ru": r"введите|вводите|ввести|укажите|указать|подтвердите|подтвердить|сообщите|сообщайте|сообщить|"
    r"отправьте|отправляйте|отправить|пришлите|присылайте|прислать|вышлите|назовите|называйте|назвать|"
    r"продиктуйте|диктуйте|ответьте|предоставьте|предоставить|передайте|передавайте|передать|заполните|"
    r"перешлите|пересылайте|верифицируйте",
    "id": r"masukkan|memasukkan|ketik(?:kan)?|konfirmasi(?:kan)?|verifikasi(?:kan)?|kirim(?:kan)?|mengirim(?:kan)?|"
    r"balas\s+dengan|berikan|memberikan|sebutkan|menyebutkan|bagikan|membagikan|isi(?:kan)?|mengisi|"
    r"informasikan|beritahukan|beri\s+tahu|serahkan|tunjukkan|bacakan",
}
_SECRETS = {
    "en": r"pass(?:word|code|phrase)s?|pins?\b(?:\s+(?:code|number))?|one[-\s]time\s+(?:pass)?(?:code|password)s?|"
    r"otps?|(?:verification|security|authentication|authori[sz]ation|confirmation|login|sms|2fa|mfa|access)"
    r"\s+codes?|codes?\s+(?:we|that\s+we|which\s+we)\s+(?:sent|texted|emailed)|"
    r"(?:credit\s+|debit\s+|payment\s+|bank\s+)?card\s+(?:numbers?|details|data)|cvv2?|cvc2?|"
    r"bank(?:ing)?\s+(?:details|login|credentials)|credentials|security\s+answers?",
    "sv": r"lösenord\w*|pin(?:-?kod\w*)?\b|engångskod\w*|verifieringskod\w*|säkerhetskod\w*|kontrollkod\w*|"
    r"bekräftelsekod\w*|inloggningskod\w*|sms-kod\w*|koden\s+(?:vi|som\s+vi)\s+(?:skickade|sms:ade|mejlade)|"
    r"kortnummer\w*|kortuppgifter\w*|kortets\s+nummer|cvv2?|cvc2?|bankuppgifter\w*|bank-?id|"
    r"svar\s+på\s+säkerhetsfråg\w*",
    "ru": r"парол\w*|пин-?код\w*|пин\b|pin(?:-?код\w*)?\b|одноразов\w+\s+(?:код\w*|парол\w*)|"
    r"код\w*\s+(?:из|в)\s+(?:смс|sms|сообщени\w+)|код\w*\s+подтвержден\w+|проверочн\w+\s+код\w*|"
    r"смс-код\w*|sms-код\w*|код\w*\s+безопасност\w+|"
    r"номер\w*\s+(?:вашей\s+|банковской\s+|своей\s+)?карт\w*|данн\w+\s+(?:вашей\s+|банковской\s+)?карт\w*|"
    r"реквизит\w*\s+карт\w*|cvv2?|cvc2?|срок\w*\s+действия\s+карт\w*|кодов\w+\s+слов\w*",
    "id": r"kata\s+sandi|sandi|password|pin\b|kode\s+(?:otp|verifikasi|rahasia|keamanan|konfirmasi|sms|akses)|"
    r"kode\s+sekali\s+pakai|otp\b|nomor\s+kartu(?:\s+(?:kredit|debit|atm))?|data\s+kartu|cvv2?|cvc2?|"
    r"masa\s+berlaku\s+kartu|kode\s+yang\s+kami\s+kirim\w*",
}
_NEGATIONS = {
    "en": r"never|not|no|don't|dont|do\s+not|won't|will\s+not|nobody|no\s+one|neither|nor|without",
    "sv": r"aldrig|inte|ej|ingen|inga|inget|varken",
    "ru": r"никогда|не|ни|нельзя|никому|никто|без",
    "id": r"jangan|tidak|tak|bukan|tanpa|tiada|pernah\s+tidak|belum",
}
# Words that start a new clause: a negation before them does not reach the verb after them.
_CLAUSE_BREAKS = {
    "en": r"but|however|so|then|instead",
    "sv": r"men|utan\s+att|så|sedan|istället",
    "ru": r"но|а|однако|поэтому|затем|вместо\s+этого",
    "id": r"tetapi|tapi|namun|jadi|lalu|kemudian|melainkan",
}
# Up to six words between the verb and the secret ("reply to this email with your card number").
_GAP = r"(?:\W+\w+){0,6}?\W+"


def _compile(language: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?P<verb>{_VERBS[language]})(?!\w){_GAP}(?P<secret>{_SECRETS[language]})", re.I)


_REQUESTS = {language: _compile(language) for language in _VERBS}
_NEGATION = {language: re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.I) for language, words in _NEGATIONS.items()}
_BREAK = {language: re.compile(rf"(?<!\w)(?:{words})(?!\w)|,", re.I) for language, words in _CLAUSE_BREAKS.items()}
_SENTENCES = re.compile(r"(?<=[.!?;])\s+|\n+|(?<=[.!?])(?=[A-ZÅÄÖА-ЯЁ])")


@dataclass(frozen=True)
class CredentialRequest:
    language: str
    sentence: str
    words: str  # the verb … secret that matched


def _negated(sentence: str, match: re.Match[str], language: str) -> bool:
    """Whether the clause negates the request: before the verb ("never share") or between the verb and
    the secret, where Swedish puts it ("dela aldrig din kod")."""
    before = sentence[: match.start()]
    breaks = list(_BREAK[language].finditer(before))
    clause_start = before[breaks[-1].end() :] if breaks else before
    gap = sentence[match.end("verb") : match.start("secret")]
    return bool(_NEGATION[language].search(clause_start) or _NEGATION[language].search(gap))


def find_credential_requests(
    text: str, languages: tuple[str, ...] = ("en", "sv", "ru", "id")
) -> list[CredentialRequest]:
    """Sentences that ask the reader for a password, PIN, one-time code or card number."""
    found: list[CredentialRequest] = []
    for sentence in _SENTENCES.split(text):
        sentence = " ".join(sentence.split())
        if not sentence:
            continue
        for language in languages:
            for match in _REQUESTS[language].finditer(sentence):
                if not _negated(sentence, match, language):
                    found.append(CredentialRequest(language, sentence, match.group(0)))
                    break
    return found
