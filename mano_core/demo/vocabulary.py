"""Word lists of the demo generator: organisation settings, names, places and services.

Every name the generator produces is a *combination* drawn from these lists (first name ×
surname, street type × street name, service kind × qualifier), so no generated person,
member or structure is a real, identifiable one. Phone numbers use the ranges ARCEP reserves
for fiction (01 99 00…, 06 39 98…) and e-mail addresses the reserved ``example.org`` domain.
"""

from __future__ import annotations

from typing import Final

# --- organisation settings --------------------------------------------------------------------

ACTION_CATEGORIES: Final[tuple[str, ...]] = (
    "Accès aux droits", "Administratif", "Santé", "Soins infirmiers", "Santé mentale",
    "Addictions / RdR", "Hébergement", "Justice", "Alimentation", "Hygiène",
    "Emploi / formation", "Lien social", "Famille", "Orientation", "Accompagnement physique",
)

STRUCTURE_CATEGORIES: Final[tuple[str, ...]] = (
    "Accueil de jour", "Hygiène", "Alimentation", "Hébergement d'urgence",
    "Hébergement d'insertion", "Santé", "Santé mentale", "Addictologie / RdR", "Domiciliation",
    "Accès aux droits", "Emploi", "SIAO / 115", "Vestiaire / bagagerie",
)

SERVICES: Final[tuple[str, ...]] = (
    "Repas", "Café", "Kits d'hygiène", "Douches", "Vêtements", "Duvets / couvertures",
    "Kits RdR", "Préservatifs", "Protections périodiques", "Lessives", "Recharges téléphone",
)

TERRITORY_TYPES: Final[tuple[str, ...]] = (
    "Lieu de conso", "Campement", "Gare", "Bois / parc", "Squat", "Métro",
    "Lieu de prostitution", "Bidonville", "Rue / quartier", "Bord de canal",
)

COLLABORATIONS: Final[tuple[str, ...]] = (
    "Samu social", "Équipe mobile psychiatrie précarité", "Maraude partenaire",
    "PASS hospitalière", "Police municipale", "Mairie d'arrondissement", "CAARUD partenaire",
    "Service social de secteur", "Protection de l'enfance", "Bailleur social",
)

FEATURES: Final[dict[str, bool]] = {
    "territories": True, "encounters": True, "passages": True, "reception": True,
    "groups": True, "consultations": True,
}

# (name, night_session, street team?) — one fixed site receives the passages.
SUBTEAMS: Final[tuple[tuple[str, bool, bool], ...]] = (
    ("Maraude jour", False, True),
    ("Maraude soir", False, True),
    ("Équipe de nuit", True, True),
    ("Accueil de jour", False, False),
)

ROLES: Final[tuple[str, ...]] = ("admin", "normal", "restricted")

# --- people -----------------------------------------------------------------------------------

MALE_FIRST_NAMES: Final[tuple[str, ...]] = (
    "Ahmed", "Alain", "Alexandre", "Ali", "Amadou", "Antoine", "Bernard", "Bruno", "Christophe",
    "Claude", "Cyril", "Daniel", "David", "Didier", "Dominique", "Éric", "Fabrice", "Franck",
    "François", "Frédéric", "Gérard", "Gilles", "Grégory", "Hamid", "Hervé", "Ibrahima",
    "Ionut", "Jacques", "Jean", "Jean-Luc", "Jean-Pierre", "Jérôme", "Joël", "Karim", "Kévin",
    "Lamine", "Laurent", "Ludovic", "Malik", "Mamadou", "Marc", "Marek", "Mathieu", "Michel",
    "Mohamed", "Moussa", "Nicolas", "Olivier", "Omar", "Pascal", "Patrick", "Philippe",
    "Pierre", "Rachid", "Régis", "Samir", "Sébastien", "Serge", "Stéphane", "Sylvain",
    "Thierry", "Thomas", "Tomasz", "Vasile", "Vincent", "Yacine", "Yannick", "Youssef",
)

FEMALE_FIRST_NAMES: Final[tuple[str, ...]] = (
    "Aïcha", "Amina", "Anne", "Awa", "Brigitte", "Camille", "Catherine", "Chantal", "Christine",
    "Claire", "Corinne", "Delphine", "Élodie", "Fatima", "Fatou", "Florence", "Françoise",
    "Habiba", "Isabelle", "Jessica", "Julie", "Karima", "Laetitia", "Leïla", "Linda", "Malika",
    "Mariam", "Marie", "Martine", "Mélanie", "Monique", "Nadia", "Nathalie", "Patricia",
    "Sandrine", "Sophie", "Stéphanie", "Sylvie", "Valérie", "Véronique", "Yasmina", "Zohra",
)

SURNAMES: Final[tuple[str, ...]] = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet",
    "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin",
    "Muller", "Henry", "Roussel", "Perrin", "Morin", "Clément", "Gauthier", "Dumont", "Lopez",
    "Fontaine", "Chevalier", "Robin", "Masson", "Sanchez", "Diallo", "Traoré", "Benali",
    "Haddad", "Mansouri", "Popescu", "Kowalski", "Nguyen", "Da Silva", "Ferreira", "Camara",
    "Keita", "Cissé", "Belkacem", "Lemaire", "Renaud", "Barbier", "Marchand", "Caron",
)

MALE_NICKNAMES: Final[tuple[str, ...]] = (
    "Dédé", "le Grand", "Petit Jo", "Tonton", "Moustache", "le Belge", "Bébert", "le Chti",
    "Grand Mo", "Papy", "le Marin", "Jojo", "Gégé", "P'tit Louis", "le Breton", "Nono",
    "le Rasta", "Babou", "Kiki", "le Gitan", "Pépé", "le Chauve",
)

FEMALE_NICKNAMES: Final[tuple[str, ...]] = (
    "Mimi", "la Brune", "Nanou", "la Rouquine", "Mamie", "Titi", "la Blonde", "Loulou",
    "Poupette", "Fanfan", "Choupette", "la Grande",
)

# Appended to a first name: "Karim le Grand", "Sylvie la Petite".
MALE_EPITHETS: Final[tuple[str, ...]] = (
    "le Grand", "le Petit", "le Vieux", "du canal", "de la gare",
)
FEMALE_EPITHETS: Final[tuple[str, ...]] = ("la Grande", "la Petite", "du square", "de la gare")

DESCRIPTION_PARTS: Final[tuple[tuple[str, ...], ...]] = (
    ("Grand", "Petit", "Taille moyenne", "Très grand", "Mince", "Corpulent"),
    ("barbe grise", "cheveux longs", "crâne rasé", "cheveux courts", "dreadlocks",
     "moustache", "cheveux blancs", "queue de cheval"),
    ("porte souvent un bonnet rouge", "doudoune noire", "toujours avec son chien",
     "sac à dos bleu", "parka kaki", "casquette", "lunettes", "béquille",
     "vélo chargé de sacs", "caddie", "écharpe verte"),
)

LANGUAGES: Final[tuple[str, ...]] = (
    "Française", "Roumaine", "Algérienne", "Marocaine", "Malienne", "Sénégalaise",
    "Polonaise", "Afghane", "Érythréenne", "Ivoirienne", "Tunisienne", "Soudanaise",
)

GROUP_RELATIONS: Final[tuple[str, ...]] = (
    "Couple", "Frère / sœur", "Parent / enfant", "Amis", "Cousins", "Compagnons de route",
    "Oncle / neveu",
)

# --- places -----------------------------------------------------------------------------------

STREET_TYPES: Final[tuple[str, ...]] = (
    "Rue", "Rue", "Rue", "Avenue", "Boulevard", "Place", "Quai", "Passage", "Square",
    "Impasse", "Allée", "Cours",
)

STREET_NAMES: Final[tuple[str, ...]] = (
    "des Lilas", "des Acacias", "du Marché", "de la Gare", "des Tanneurs", "du Canal",
    "de la Fontaine", "des Peupliers", "du Moulin", "de l'Église", "des Écoles",
    "de la République", "Victor-Hugo", "Jean-Jaurès", "de la Paix", "des Tilleuls", "du Pont",
    "des Vignes", "de la Liberté", "du Commerce", "des Roses", "de la Mairie", "du Port",
    "des Mariniers", "des Jardins", "du Château-d'Eau", "de la Forge", "des Platanes",
    "du Faubourg", "des Marronniers", "de l'Industrie", "de la Chapelle", "du Midi",
    "des Artisans", "de Verdun", "Gambetta", "Pasteur", "Voltaire", "de la Résistance",
    "des Cordiers", "du Lavoir", "des Bateliers",
)

LANDMARKS: Final[tuple[str, ...]] = (
    "Gare du Nord parvis", "Gare de l'Est, sortie taxis", "Bois (entrée est)",
    "Campement canal", "Sous le pont du périphérique", "Square, bancs du fond",
    "Métro, sortie 2", "Parking du centre commercial", "Jardin public, kiosque",
    "Halle du marché", "Berges, escalier nord", "Gare routière", "Porche de l'église",
    "Abri-bus de la place", "Entrée de l'hôpital", "Laverie automatique",
    "Devant la boulangerie", "Bord du périphérique", "Tunnel piéton", "Parvis de la mairie",
)

# Territory name patterns per type; "{street}" takes a generated street.
TERRITORY_PATTERNS: Final[dict[str, tuple[str, ...]]] = {
    "Lieu de conso": ("Lieu de conso, {street}", "Escaliers du métro aérien",
                      "Colline (bretelle nord)"),
    "Campement": ("Campement canal", "Campement sous le pont", "Campement, {street}",
                  "Campement porte nord"),
    "Gare": ("Gare du Nord parvis", "Gare de l'Est hall", "Gare routière",
             "Gare, sortie {street}"),
    "Bois / parc": ("Bois (entrée est)", "Bois (lac)", "Parc des Buttes",
                    "Parc, entrée {street}"),
    "Squat": ("Squat, {street}", "Squat ancien entrepôt"),
    "Métro": ("Métro ligne 2, station terminus", "Métro, sortie {street}", "Couloirs RER"),
    "Lieu de prostitution": ("Boulevard extérieur", "Lisière du bois", "{street}"),
    "Bidonville": ("Bidonville friche SNCF", "Terrain vague, {street}"),
    "Rue / quartier": ("{street}", "Quartier des Halles", "Secteur {street}"),
    "Bord de canal": ("Berges du canal", "Écluse, côté {street}", "Berges, {street}"),
}

# (kind, structure categories, public)
STRUCTURE_KINDS: Final[tuple[tuple[str, tuple[str, ...], str], ...]] = (
    ("Accueil de jour", ("Accueil de jour", "Alimentation", "Hygiène"), "Tout public"),
    ("Halte santé", ("Santé",), "Tout public"),
    ("CAARUD", ("Addictologie / RdR",), "Personnes usagères de drogues"),
    ("CSAPA", ("Addictologie / RdR", "Santé"), "Personnes usagères de drogues"),
    ("Bains-douches municipaux", ("Hygiène",), "Tout public"),
    ("Restaurant solidaire", ("Alimentation",), "Tout public"),
    ("Épicerie sociale", ("Alimentation",), "Familles"),
    ("Centre d'hébergement d'urgence", ("Hébergement d'urgence",), "Hommes isolés"),
    ("Halte de nuit", ("Hébergement d'urgence",), "Femmes"),
    ("CHRS", ("Hébergement d'insertion",), "Hommes et femmes isolés"),
    ("Pension de famille", ("Hébergement d'insertion",), "Personnes isolées"),
    ("Centre médico-psychologique", ("Santé mentale",), "Adultes du secteur"),
    ("Équipe mobile psychiatrie précarité", ("Santé mentale",), "Tout public"),
    ("PASS", ("Santé", "Accès aux droits"), "Personnes sans couverture maladie"),
    ("Centre dentaire solidaire", ("Santé",), "Tout public"),
    ("Point domiciliation", ("Domiciliation",), "Personnes sans domicile stable"),
    ("Espace solidarité insertion", ("Accueil de jour", "Accès aux droits"), "Tout public"),
    ("Permanence juridique", ("Accès aux droits",), "Tout public"),
    ("Boutique solidarité", ("Accueil de jour", "Hygiène"), "Tout public"),
    ("Chantier d'insertion", ("Emploi",), "18–25 ans"),
    ("Dispositif premières heures", ("Emploi",), "Personnes à la rue"),
    ("SIAO", ("SIAO / 115",), "Tout public"),
    ("Bagagerie", ("Vestiaire / bagagerie",), "Tout public"),
    ("Vestiaire solidaire", ("Vestiaire / bagagerie", "Hygiène"), "Tout public"),
)

STRUCTURE_QUALIFIERS: Final[tuple[str, ...]] = (
    "Saint-Martin", "Saint-Michel", "Sainte-Anne", "Rivage", "Le Phare", "L'Escale",
    "La Boussole", "L'Étape", "Le Relais", "La Passerelle", "L'Oasis", "Le Tremplin",
    "Horizon", "Les Tilleuls", "du Canal", "de la Gare", "Nord", "Sud", "Le Carrefour",
    "L'Abri", "Arc-en-ciel", "Le Fil", "La Clairière", "Les Mariniers",
)

OPENING_HOURS: Final[tuple[str, ...]] = (
    "Lun–Ven 9h–17h", "Tous les jours 8h30–12h", "Mar, Jeu 14h–18h", "24h/24, 7j/7",
    "Lun–Sam 10h–16h", "Du lundi au vendredi 9h–12h30 et 14h–17h", "Le soir 19h–22h",
    "Sur rendez-vous", "Mer 9h–13h", "Tous les jours 18h–8h",
)

# (postcode, city); Paris arrondissements are added by the generator.
SUBURBS: Final[tuple[tuple[str, str], ...]] = (
    ("93200", "Saint-Denis"), ("93100", "Montreuil"), ("93300", "Aubervilliers"),
    ("93500", "Pantin"), ("93400", "Saint-Ouen-sur-Seine"), ("93000", "Bobigny"),
    ("92110", "Clichy"), ("92000", "Nanterre"), ("94200", "Ivry-sur-Seine"),
    ("94400", "Vitry-sur-Seine"), ("94000", "Créteil"), ("93800", "Épinay-sur-Seine"),
)

OBSERVATION_MATERIAL: Final[tuple[str, ...]] = (
    "Seringues", "Kits base", "Préservatifs", "Couvertures", "Bouteilles d'eau",
    "Kits d'hygiène", "Pailles", "Flyers CAARUD",
)
