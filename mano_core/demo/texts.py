"""Short French texts of the demo generator: action names, comments ("transmissions"),
report descriptions and medical vocabulary, assembled from templates with slots."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

# (action name, action categories, structure category it usually concerns)
ACTIONS: Final[tuple[tuple[str, tuple[str, ...], str | None], ...]] = (
    ("Accompagnement CAF", ("Accès aux droits", "Accompagnement physique"), "Accès aux droits"),
    ("RDV dentiste", ("Santé",), "Santé"),
    ("Domiciliation", ("Administratif",), "Domiciliation"),
    ("Renouvellement titre de séjour", ("Administratif", "Accès aux droits"), None),
    ("Audience tribunal", ("Justice", "Accompagnement physique"), None),
    ("Changement pansement", ("Soins infirmiers",), None),
    ("Demande AME", ("Accès aux droits", "Santé"), "Accès aux droits"),
    ("Ouverture des droits CSS", ("Accès aux droits", "Santé"), "Accès aux droits"),
    ("Appel 115", ("Hébergement",), "SIAO / 115"),
    ("Demande SIAO insertion", ("Hébergement",), "SIAO / 115"),
    ("Orientation accueil de jour", ("Orientation",), "Accueil de jour"),
    ("Douche", ("Hygiène",), "Hygiène"),
    ("RDV médecin généraliste", ("Santé",), "Santé"),
    ("RDV CMP", ("Santé mentale",), "Santé mentale"),
    ("Dépistage VIH / VHC", ("Santé", "Addictions / RdR"), "Addictologie / RdR"),
    ("Remise de matériel RdR", ("Addictions / RdR",), "Addictologie / RdR"),
    ("Refaire la carte d'identité", ("Administratif",), None),
    ("Ouverture compte bancaire", ("Administratif",), None),
    ("Inscription France Travail", ("Emploi / formation",), "Emploi"),
    ("Dossier RSA", ("Accès aux droits",), "Accès aux droits"),
    ("Dossier MDPH (AAH)", ("Accès aux droits",), None),
    ("Colis alimentaire", ("Alimentation",), "Alimentation"),
    ("Vêtements chauds", ("Hygiène",), "Vestiaire / bagagerie"),
    ("Récupérer le courrier", ("Administratif",), "Domiciliation"),
    ("Visite à l'hôpital", ("Lien social", "Santé"), None),
    ("Appel à la famille", ("Lien social", "Famille"), None),
    ("RDV avocat", ("Justice",), None),
    ("RDV SPIP", ("Justice",), None),
    ("Bilan ophtalmologique", ("Santé",), "Santé"),
    ("Accompagnement PASS", ("Santé", "Accompagnement physique"), "Santé"),
    ("Scolarisation des enfants", ("Famille",), None),
    ("Entretien psychologue", ("Santé mentale",), "Santé mentale"),
    ("Mise à l'abri", ("Hébergement",), "Hébergement d'urgence"),
    ("Visite CHRS", ("Hébergement", "Accompagnement physique"), "Hébergement d'insertion"),
    ("Consigne bagagerie", ("Hygiène",), "Vestiaire / bagagerie"),
)

ACTION_DESCRIPTIONS: Final[tuple[str, ...]] = (
    "Prévoir les papiers : {doc}.", "Rendez-vous à {heure}, l'accompagner.",
    "Voir avec {structure} avant.", "Il faut {doc} sinon le dossier est bloqué.",
    "Le retrouver {lieu} vers {heure}.", "Première démarche, rester disponible.",
    "Rappeler la veille pour confirmer.", "Interprète à prévoir.",
)

# Comment templates: one or two are joined; slots are filled by fill().
COMMENTS: Final[tuple[str, ...]] = (
    "Vu {moment} {lieu}, demande {demande}.",
    "Vu {moment} {lieu}, va bien.",
    "Pansement refait, plaie propre.",
    "Pansement refait, plaie un peu rouge : surveiller.",
    "Audience au tribunal le {jour} : l'accompagner.",
    "Ne souhaite pas être hébergé ce soir.",
    "A appelé le 115 sans succès, rappeler demain.",
    "Place en hébergement d'urgence obtenue pour {nuits} nuits.",
    "Orienté vers {structure}.",
    "RDV pris à {structure} le {jour} à {heure}.",
    "N'était pas au RDV à {structure}.",
    "Dort {lieu} depuis quelques jours.",
    "Pas vu depuis {nuits} jours, à chercher {lieu}.",
    "Se plaint de douleurs au pied, proposer la halte santé.",
    "Très fatigué, a peu mangé. Repasser {moment2}.",
    "Récupéré {doc} à la domiciliation.",
    "Demande {demande}.",
    "Dossier AME déposé, attente de réponse.",
    "Ses affaires ont été jetées lors de l'évacuation, demande {demande}.",
    "Conflit avec un autre usager {lieu}, à apaiser.",
    "Consomme beaucoup en ce moment, remis du matériel RdR.",
    "Souhaite reprendre contact avec sa famille.",
    "Content d'avoir obtenu {doc}.",
    "Refuse les soins pour l'instant, garder le lien.",
    "Parle de retourner au pays, en discuter avec l'équipe.",
    "Sortie d'hôpital {moment}, pas de solution d'hébergement.",
    "Chien vacciné, carnet récupéré.",
    "Signalement fait au SIAO.",
    "Accompagnement à {structure} fait, bon accueil.",
    "Téléphone volé, nouveau numéro à demander.",
    "Appeler {structure} pour le suivi.",
    "Bonne humeur, a pris un café avec l'équipe.",
)

URGENT_COMMENTS: Final[tuple[str, ...]] = (
    "URGENT : très affaibli {lieu}, appeler le 15 si pas mieux {moment2}.",
    "Urgent : plaie infectée, voir l'infirmière au plus vite.",
    "Menacé {lieu}, ne plus y dormir : chercher une mise à l'abri ce soir.",
    "Urgent : expulsion du squat prévue le {jour}.",
    "Hospitalisé {moment}, prévenir l'équipe de nuit.",
    "Urgent : n'a plus son traitement depuis {nuits} jours.",
)

ENCOUNTER_COMMENTS: Final[tuple[str, ...]] = (
    "Café et discussion.", "Distribution d'un duvet.", "Refuse d'échanger aujourd'hui.",
    "Vu {lieu}.", "Orienté vers {structure}.", "Soins de plaie.", "Repas donné.",
    "A demandé {demande}.",
)

PASSAGE_COMMENTS: Final[tuple[str, ...]] = (
    "Douche et café.", "Petit-déjeuner.", "Récupération du courrier.", "Lessive.",
    "Entretien avec l'assistante sociale.", "Recharge du téléphone.", "Vestiaire.",
)

OBSERVATION_COMMENTS: Final[tuple[str, ...]] = (
    "Calme, peu de monde.", "Nouvelles tentes installées {lieu}.",
    "Évacuation prévue le {jour} selon les riverains.", "Beaucoup de consommation ce soir.",
    "Présence de mineurs, signaler.", "Tensions entre deux groupes.",
    "Site nettoyé par la ville, les personnes se sont déplacées {lieu}.",
)

REPORT_DESCRIPTIONS: Final[tuple[str, ...]] = (
    "Maraude calme, {n} personnes rencontrées.",
    "Beaucoup de monde {lieu}, café très apprécié.",
    "Froid, distribution de duvets. Plusieurs appels au 115 sans succès.",
    "Tensions {lieu} en début de soirée, l'équipe est partie plus tôt.",
    "Accueil chargé le matin, {n} passages.", "Nouvelles personnes {lieu}, à revoir.",
    "Réunion d'équipe puis maraude courte.", "Pluie, peu de monde dehors.",
)

SLOTS: Final[dict[str, tuple[str, ...]]] = {
    "moment": ("ce matin", "ce soir", "hier soir", "cet après-midi", "en fin de maraude",
               "cette nuit", "à l'accueil"),
    "moment2": ("demain", "ce soir", "en fin de semaine", "lundi", "au prochain passage"),
    "lieu": ("près de la gare", "sur le parvis", "au campement", "devant la boulangerie",
             "sous le pont", "au square", "près du métro", "le long du canal",
             "à l'entrée du bois", "devant le supermarché"),
    "demande": ("un rendez-vous CMU", "une domiciliation", "des vêtements chauds",
                "un sac de couchage", "une place en hébergement", "un rendez-vous dentiste",
                "des chaussures", "de l'aide pour son dossier CAF", "une douche"),
    "doc": ("son passeport", "sa carte d'identité", "l'attestation AME", "son récépissé",
            "sa carte Vitale", "l'attestation de domiciliation", "son avis d'imposition"),
    "jour": tuple(str(d) for d in range(1, 29)),
    "heure": ("9h", "9h30", "10h", "11h", "14h", "14h30", "15h", "16h"),
    "nuits": ("2", "3", "5", "7", "10", "15"),
    "n": tuple(str(n) for n in range(4, 40)),
}

# consultation type → plausible names
CONSULTATIONS: Final[dict[str, tuple[str, ...]]] = {
    "Infirmier": ("Soin de plaie", "Pansement", "Suivi tension", "Vaccination",
                  "Suivi diabète", "Préparation du pilulier"),
    "Médecin généraliste": ("Bilan", "Renouvellement d'ordonnance", "Suivi diabète",
                            "Certificat médical", "Contrôle"),
    "Psychologue": ("Entretien", "Premier entretien", "Suivi"),
    "Psychiatre": ("Renouvellement d'ordonnance", "Consultation de suivi", "Évaluation"),
    "Dentaire": ("Soins dentaires", "Extraction", "Bilan dentaire"),
    "Podologue": ("Soins des pieds",),
    "Sage-femme": ("Suivi de grossesse", "Contraception"),
}
CONSULTATION_TYPES: Final[tuple[str, ...]] = tuple(CONSULTATIONS)

# (name, dosage, frequency)
TREATMENTS: Final[tuple[tuple[str, str, str], ...]] = (
    ("Paracétamol", "1 g", "3 fois par jour si douleur"),
    ("Amoxicilline", "1 g", "3 fois par jour pendant 7 jours"),
    ("Méthadone", "60 mg", "1 fois par jour"),
    ("Buprénorphine", "8 mg", "1 fois par jour"),
    ("Metformine", "850 mg", "matin et soir"),
    ("Amlodipine", "5 mg", "1 fois par jour"),
    ("Oméprazole", "20 mg", "le matin"),
    ("Crème cicatrisante", "application locale", "matin et soir"),
    ("Ivermectine", "selon le poids", "dose unique, à renouveler à J8"),
    ("Vitamine B1", "250 mg", "1 fois par jour"),
    ("Salbutamol", "2 bouffées", "si besoin"),
    ("Olanzapine", "10 mg", "le soir"),
    ("Insuline", "selon glycémie", "matin et soir"),
)

MEDICAL_HISTORY: Final[tuple[str, ...]] = (
    "Diabète de type 2.", "Hypertension.", "Hépatite C traitée.", "Épilepsie.",
    "Fracture de la cheville ancienne.", "Asthme.", "Tuberculose traitée.",
    "Troubles psychiatriques suivis au CMP.", "Ulcère de jambe.", "Allergie à la pénicilline.",
)


def _slots_of(template: str) -> tuple[str, ...]:
    return tuple(f for _, f, _, _ in string.Formatter().parse(template) if f)


class Phrasebook:
    """Templates compiled once against their slot pools: drawing a text is one cheap call."""

    __slots__ = ("_compiled",)

    def __init__(self, templates: Sequence[str], pools: Mapping[str, Sequence[str]]) -> None:
        compiled = []
        for template in templates:
            slots = _slots_of(template)
            positional = template.format_map({s: f"{{{i}}}" for i, s in enumerate(slots)})
            compiled.append((positional, tuple(pools[s] for s in slots)))
        self._compiled = tuple(compiled)

    def say(self, rnd: Callable[[], float]) -> str:
        """A filled template; ``rnd`` is the ``random()`` of the caller's stream."""
        template, pools = self._compiled[int(rnd() * len(self._compiled))]
        if not pools:
            return template
        return template.format(*[p[int(rnd() * len(p))] for p in pools])


@dataclass(frozen=True)
class Phrases:
    """Every phrasebook of one run, compiled against that run's structure names."""

    comments: Phrasebook
    urgent: Phrasebook
    encounters: Phrasebook
    passages: Phrasebook
    observations: Phrasebook
    reports: Phrasebook
    action_descriptions: Phrasebook

    @classmethod
    def compile(cls, structure_names: Sequence[str]) -> Phrases:
        pools = {**SLOTS, "structure": structure_names}
        return cls(*(Phrasebook(t, pools) for t in (
            COMMENTS, URGENT_COMMENTS, ENCOUNTER_COMMENTS, PASSAGE_COMMENTS,
            OBSERVATION_COMMENTS, REPORT_DESCRIPTIONS, ACTION_DESCRIPTIONS)))

    def transmission(self, rnd: Callable[[], float], urgent: bool) -> str:
        """A comment of one or two sentences; an urgent one starts with an urgent sentence."""
        first = (self.urgent if urgent else self.comments).say(rnd)
        if rnd() < 0.65:
            return first
        second = self.comments.say(rnd)
        return first if second == first else f"{first} {second}"
