"""Whole news articles written for the tests: one extradition story told by three outlets,
a different extradition a day later, and the near misses of the shipped rules at full length.

Each is an article as a feed carries it: a headline, the feed's short description and
the full text that ``content:encoded`` holds. The outlets, the people transferred and the
quotes are invented; the setting (a second mass transfer of cartel suspects from Mexico to
the United States, under tariff pressure) follows the kind of story the rules are for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class NewsArticle:
    slug: str
    source: str
    title: str
    summary: str
    body: str
    published: datetime

    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.body.split("\n\n") if p.strip()]


def _text(*paragraphs: str) -> str:
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


# --- the story: Mexico's second mass transfer, as The Metropolitan Times reports it -----

TRANSFER = NewsArticle(
    slug="mexico-transfer-26",
    source="The Metropolitan Times",
    title="Mexico Sends 26 More Captured Cartel Operatives to U.S.",
    summary=(
        "The handover, the second of its kind this year, comes as the Trump administration "
        "presses Mexico's government to move harder against drug trafficking groups."
    ),
    published=datetime(2026, 8, 12, 21, 40, tzinfo=UTC),
    body=_text(
        """MEXICO CITY — Mexico sent 26 people accused of working for drug cartels to the
        United States on Tuesday, the country's security cabinet said, the second time this
        year that the government of President Claudia Sheinbaum has moved a large group of
        prisoners across the border in a single operation.""",
        """The prisoners were flown out of Mexico City and several northern states aboard
        Mexican military aircraft and handed to American officials, according to a joint
        statement from Mexico's attorney general's office and the security ministry. Among
        them, officials said, were a regional boss of the Jalisco New Generation cartel
        accused of running methamphetamine laboratories in Michoacán, two men wanted in
        Texas for the killing of a sheriff's deputy, and a financial operator who prosecutors
        say laundered money for a faction of the Sinaloa cartel.""",
        """In February, Mexico sent 29 cartel figures to the United States, among them Rafael
        Caro Quintero, who had been sought by American prosecutors for decades over the
        1985 killing of a Drug Enforcement Administration agent. That transfer, like this
        one, was carried out without the lengthy extradition proceedings that usually keep
        such cases in Mexican courts for years.""",
        """Attorney General Pam Bondi said in a statement that the 26 would face charges in
        federal courts in California, Texas, Arizona, Illinois, New York and Virginia,
        including drug trafficking, money laundering, murder and racketeering. The Justice
        Department had committed not to seek the death penalty for any of them, a condition
        that Mexico, which abolished capital punishment, sets for every prisoner it sends
        north.""",
        '''Omar García Harfuch, Mexico's security minister, said the prisoners had continued
        to run their organizations from inside Mexican prisons, bribing guards and ordering
        killings, and that moving them was a matter of national security. "These are people
        who kept giving orders from their cells," he told reporters. "They will not do that
        any more."''',
        """The transfer comes as Mr. Trump presses Ms. Sheinbaum's government to do more
        against the cartels, which his administration has designated as foreign terrorist
        organizations. Mr. Trump has threatened high tariffs on Mexican goods over the flow
        of fentanyl and migrants across the border, and has repeatedly suggested that the
        American military could strike drug trafficking groups on Mexican soil.""",
        """Ms. Sheinbaum has rejected any American military operation inside Mexico, and has
        said that cooperation must respect the country's sovereignty. At her morning news
        conference on Tuesday she described the transfer as a sovereign decision of the
        Mexican state. "We collaborate, we coordinate, but we do not subordinate ourselves,"
        she said.""",
        """Security analysts said the transfers served both governments. For Mexico, they
        remove prisoners who have corrupted the prison system and show Washington concrete
        results at a tense moment in trade talks. For the United States, they deliver
        defendants that American prosecutors might otherwise have waited years to see in
        court.""",
        '''"It is a way of buying time," said a former Mexican intelligence official who
        studies organized crime. "Every transfer takes some heat off the government in the
        negotiation with Washington, but it does not change the situation in the states
        where the cartels are fighting each other."''',
        """Violence linked to the cartels has continued in several regions, including
        Sinaloa, where a war between rival factions of the Sinaloa cartel has killed more
        than 1,500 people since last September, according to state figures.""",
        """Officials in both countries said more transfers were possible. The security
        cabinet said it had acted on a request from the United States and that each of the
        26 had pending charges there.""",
    ),
)

# A syndication partner runs the same story with its own headline style and a credit line.
TRANSFER_COPY = NewsArticle(
    slug="mexico-transfer-26-syndicated",
    source="Gulf Coast Wire",
    title="Mexico sends 26 more captured cartel operatives to US",
    summary=TRANSFER.summary,
    published=datetime(2026, 8, 12, 22, 15, tzinfo=UTC),
    body=TRANSFER.body
    + "\n\n"
    + _text("""This article originally appeared in The Metropolitan Times and is republished
        here under a content-sharing agreement."""),
)

# A third outlet reports the same transfer in its own words.
TRANSFER_RETOLD = NewsArticle(
    slug="mexico-transfer-26-retold",
    source="Border Desk",
    title="Mexico transfers 26 alleged cartel members to US custody",
    summary=(
        "Mexican authorities flew 26 prisoners wanted by American prosecutors to the United "
        "States, the second such mass handover since February."
    ),
    published=datetime(2026, 8, 13, 1, 5, tzinfo=UTC),
    body=_text(
        """Mexican authorities on Tuesday handed 26 prisoners wanted on drug trafficking and
        violent crime charges over to the United States, security minister Omar García
        Harfuch announced, in the Sheinbaum government's second mass transfer of alleged
        cartel members this year.""",
        """The group included a suspected Jalisco New Generation cartel commander from
        Michoacán, a Sinaloa cartel money manager and two suspects in the murder of a
        Texas deputy, García Harfuch said on social media. Military planes carried the
        prisoners from Mexico City and from prisons in the north.""",
        """U.S. Attorney General Pam Bondi confirmed that the 26 had arrived and would be
        prosecuted in six states. Washington gave assurances that none of them would face
        execution, which Mexico requires before it hands anyone over.""",
        """The operation mirrors the one in February, when 29 prisoners, including the
        veteran trafficker Rafael Caro Quintero, were sent north in one day. Neither group
        went through formal extradition hearings.""",
        """President Claudia Sheinbaum called the move a decision taken by Mexico alone and
        repeated that she would not accept U.S. troops on Mexican territory. The transfer
        comes amid pressure from the Trump administration, which has labelled several
        cartels terrorist organizations and has tied trade measures to progress on fentanyl
        and migration.""",
        """García Harfuch said the 26 had kept directing criminal operations from behind
        bars. Analysts said the handovers also strengthen Mexico's hand in its negotiations
        with Washington.""",
    ),
)

# --- a different event of the same kind, the next day --------------------------------

OTHER_EXTRADITION = NewsArticle(
    slug="sinaloa-financier-extradited",
    source="Border Desk",
    title="Mexico extradites alleged Sinaloa cartel financier to face charges in San Diego",
    summary=(
        "Héctor Manuel Ibarra Solís, accused of moving drug proceeds for the Sinaloa cartel "
        "through currency exchange houses, was handed to U.S. marshals in Tijuana."
    ),
    published=datetime(2026, 8, 14, 16, 30, tzinfo=UTC),
    body=_text(
        """TIJUANA — Mexico on Thursday extradited a man accused of laundering millions of
        dollars for the Sinaloa cartel to the United States, where he faces charges in
        federal court in San Diego, Mexico's attorney general's office said.""",
        """Héctor Manuel Ibarra Solís, 47, was handed to United States marshals at the San
        Ysidro crossing after a Mexican federal judge approved his extradition last year and
        an appeals court rejected his final challenge in July.""",
        """Prosecutors in the Southern District of California accuse Mr. Ibarra of running a
        network of currency exchange houses in Culiacán and Tijuana that converted cash
        from cocaine and methamphetamine sales in Los Angeles and Chicago into pesos and
        sent the money back to the cartel's leaders. An indictment unsealed in 2023 charges
        him with conspiracy to launder monetary instruments and conspiracy to distribute
        controlled substances.""",
        """Mr. Ibarra was arrested in a residential neighborhood of Guadalajara in March
        2024 by Mexican federal agents acting on a provisional arrest warrant requested by
        the United States. His lawyers had argued that the charges were based on the
        testimony of cooperating witnesses who were themselves facing long sentences.""",
        """Unlike the group transfers that Mexico has carried out this year, his case went
        through the full extradition process under the treaty between the two countries,
        which can take years to complete.""",
        """If convicted, Mr. Ibarra faces up to 20 years in prison on the laundering count
        and a mandatory minimum of ten years on the drug charge. He is expected to make a
        first appearance before a magistrate judge in San Diego on Friday.""",
    ),
)

# --- near misses at full length ----------------------------------------------------------

FILM_REVIEW = NewsArticle(
    slug="review-border-line",
    source="The Metropolitan Times",
    title="Review: 'Border Line' Is a Cartel Drama That Never Finds Its Footing",
    summary=(
        "The film follows a Sinaloa cartel boss sent from Mexico to the United States; "
        "even a committed lead performance cannot save it."
    ),
    published=datetime(2026, 8, 15, 14, 0, tzinfo=UTC),
    body=_text(
        """"Border Line" opens with a helicopter shot of a convoy crawling through the
        Sinaloa mountains at dawn, and for a few minutes it seems the movie might have
        something new to say about the drug war. It does not.""",
        """The film, directed by Marisol Andrade from a screenplay she wrote with Peter
        Vance, follows Aurelio Campos (Javier Ortega), a cartel boss who is captured in a
        raid on his ranch and extradited to the United States to stand trial in Brooklyn.
        Most of the story unfolds in the months before the handover, as Campos bargains
        with a Mexican prosecutor (Ana Lucía Ferrer) and an American agent (Tom Keller) who
        each want him for different reasons.""",
        """Ortega, who was so good as a small-town priest in "Santa Rosa," gives Campos a
        weary charm, and there is a fine scene in a prison visiting room in which he talks
        his teenage daughter through a math problem while arranging a killing in the same
        breath. But the screenplay keeps cutting away from him to Keller, whose crisis of
        conscience plays like a leftover from a dozen other thrillers.""",
        """The politics are handled with a heavy hand. Characters explain the fentanyl trade
        to one another in speeches, and a subplot about a senator who wants the border
        closed if the handover is delayed goes nowhere. The ending, which I will not give
        away, seems built mostly to leave room for a sequel.""",
        """Andrade has a good eye for landscape, and the cinematographer, Diego Salas, makes
        the desert crossings look both beautiful and menacing. The score is another
        matter: it never stops telling the audience how to feel.""",
        """"Border Line" is rated R for violence, drug use and language. Running time: 2
        hours 14 minutes. In theaters and streaming on Netflix from Friday.""",
    ),
)

TARIFFS_LIFTED = NewsArticle(
    slug="steel-tariffs-lifted",
    source="The Metropolitan Times",
    title="U.S. Lifts Steel Tariffs on Mexico as Trade Dispute Eases",
    summary=(
        "Washington lifted the tariffs it had threatened to extend, ending a months-long "
        "dispute over steel and aluminum imports."
    ),
    published=datetime(2026, 8, 16, 18, 20, tzinfo=UTC),
    body=_text(
        """WASHINGTON — The United States on Friday lifted the tariffs it had imposed on
        Mexican steel and aluminum, ending a dispute that had soured trade relations
        between the two countries for most of the year, officials in both capitals said.""",
        """Under the agreement, Mexico will tighten monitoring of steel exports to prevent
        metal from third countries being shipped through Mexican mills to avoid American
        duties, and the two governments will meet every quarter to review import volumes.
        In return, the 25 percent tariffs on steel and the 10 percent tariffs on aluminum
        will be removed from Monday.""",
        """The administration had threatened this spring to extend the duties to
        automobiles and auto parts if Mexico did not act, and in June warned that it could
        double the rate on steel. Business groups on both sides of the border had warned
        that the dispute was raising costs for builders and carmakers.""",
        """"This is a good deal for American steelworkers," the commerce secretary said in
        a statement. Mexico's economy minister said the agreement showed that the two
        countries could solve their differences through dialogue.""",
        """Steel producers in Mexico welcomed the decision. Shares of the largest Mexican
        steelmaker rose 6 percent in Mexico City trading, and the peso strengthened against
        the dollar.""",
        """Some American producers were less pleased. A trade group representing
        independent mills said it feared a new surge of imports and urged the
        administration to keep the option of restoring the duties if shipments rise
        sharply. Officials said the agreement allows either side to reopen the talks at any
        time.""",
        """The deal comes ahead of a review of the North American trade agreement next
        year, in which both governments have said they want to settle outstanding
        disputes.""",
    ),
)

DOMESTIC_DRUG_CASE = NewsArticle(
    slug="chicago-cocaine-conviction",
    source="Lakeshore Tribune",
    title="Chicago Man Convicted in Cartel-Linked Cocaine Case",
    summary=(
        "A federal jury in Chicago convicted a local man of distributing cocaine supplied by "
        "a Mexican cartel; he faces sentencing in June."
    ),
    published=datetime(2026, 8, 17, 19, 45, tzinfo=UTC),
    body=_text(
        """CHICAGO — A federal jury on Monday convicted a Chicago man of running a cocaine
        distribution ring that prosecutors said was supplied by the Sinaloa cartel, after a
        two-week trial in which former associates testified against him.""",
        """Darnell Hayes, 41, of the Austin neighborhood, was found guilty of conspiracy to
        distribute more than five kilograms of cocaine and of possessing a firearm in
        furtherance of drug trafficking. He faces a mandatory minimum of 15 years in prison
        when he is sentenced in June.""",
        """Prosecutors said that between 2021 and 2024 Mr. Hayes received shipments hidden
        in tractor-trailers that crossed from Mexico at Laredo, Texas, and were driven to
        warehouses in the Chicago suburbs. The cash from sales was packed into the same
        trucks and sent back south, they said.""",
        """The jury heard from two couriers and a former warehouse manager who had pleaded
        guilty and agreed to cooperate. Agents from the Drug Enforcement Administration
        described wiretapped calls in which Mr. Hayes discussed prices with a supplier in
        Mexico who, prosecutors said, answered to the cartel.""",
        '''Mr. Hayes's lawyer, Carla Jimenez, said her client had been convicted on the
        word of people trying to shorten their own sentences and that he would appeal. "The
        government never tied Mr. Hayes to any cartel," she said. "It tied him to witnesses
        who needed a deal."''',
        """The case is one of several in Chicago in recent years that prosecutors have
        linked to the Sinaloa cartel, whose leaders have long used the city as a hub for
        distribution across the Midwest. Joaquín Guzmán Loera, the cartel's former leader,
        was indicted in Chicago in 2009 and extradited from Mexico to the United States in
        2017; he is serving a life sentence. The U.S. attorney's office said the investigation
        had also led to the seizure of 300 kilograms of cocaine and $4 million in cash.""",
        """Three other defendants in the case have pleaded guilty and are awaiting
        sentencing.""",
    ),
)

STORY = (TRANSFER, TRANSFER_COPY, TRANSFER_RETOLD)
NEAR_MISSES = (FILM_REVIEW, TARIFFS_LIFTED, DOMESTIC_DRUG_CASE)
