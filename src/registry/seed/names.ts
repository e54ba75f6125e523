/**
 * Names of the synthetic population, from four naming traditions found side by side in East African
 * registries: Swahili, West African francophone, South Asian and Latin American. Mixing scripts,
 * diacritics (José, Aïssatou, Ouédraogo) and apostrophes (N'Guessan) gives matching and export code
 * the cases real registries throw at them.
 */
import { type Rng, Weighted } from './random.ts';

export type Locale = 'sw' | 'wa' | 'sa' | 'la';

interface NameBook {
  male: readonly string[];
  female: readonly string[];
  family: readonly string[];
  /** Share of persons registered with a middle name. */
  middleName: number;
  /** Share of wives who keep their own family name rather than take the husband's. */
  keepsFamilyName: number;
}

const words = (text: string): readonly string[] => text.trim().split(/\s+/);

const BOOKS: Record<Locale, NameBook> = {
  sw: {
    male: words(`Juma Baraka Hamisi Omari Rashidi Salim Musa Yusufu Ally Hassani Abdallah Selemani Ramadhani
      Athumani Bakari Shabani Issa Mohamedi Saidi Hussein Daudi Petro Yohana Emmanuel Joseph Elia Amani Faraji
      Jabari Kassimu Makame Mwinyi Nassoro Rajabu Sefu Tumaini Zuberi Kheri Idrisa Ibrahimu Mbaraka Hamadi`),
    female: words(`Amina Mwanaisha Rehema Zawadi Neema Halima Fatuma Mariamu Asha Zainabu Saida Mwajuma Rukia
      Hadija Salma Tatu Upendo Imani Furaha Pendo Joyce Grace Esther Agnes Anna Elizabeth Happiness Rose
      Winfrida Jamila Subira Mwanahawa Sikudhani Faraja Nasra Riziki Tabu Husna Mwantumu Latifa Hawa Kulwa`),
    family: words(`Mushi Mollel Massawe Kimaro Swai Lyimo Mrema Shirima Temba Mtui Kisanga Mwakyusa Mwakalinga
      Mbwambo Kombo Ngowi Minja Urassa Makundi Mfinanga Msuya Komba Lema Laizer Sanga Mwenda Chande Salum
      Mapunda Ndunguru Haule Ngonyani Kapinga Mbilinyi Nchimbi Mhagama Luoga Kayombo Mwakasege Kiwelu`),
    middleName: 0.35,
    keepsFamilyName: 0.3,
  },
  wa: {
    male: words(`Mamadou Moussa Ibrahima Ousmane Abdoulaye Amadou Cheikh Souleymane Boubacar Modou Alioune
      Babacar Seydou Lamine Oumar Adama Bakary Yacouba Karim Idrissa Salif Djibril Malick Pape Sékou Koffi
      Kouassi Yao Kouadio Serge Didier Jean-Baptiste Aboubacar Ismaël Tidiane Mahamadou Youssouf Daouda Fodé
      Abdou Théodore`),
    female: words(`Aminata Fatou Aïssatou Mariama Awa Khady Ndeye Coumba Bintou Kadiatou Fatoumata Rokia Oumou
      Mariam Assétou Djeneba Salimata Adjoa Akissi Affoué Ramatoulaye Sokhna Astou Dieynaba Nafissatou Sira
      Korotoumou Safiatou Maïmouna Clémence Bernadette Solange Yvette Odile Mireille Hortense Germaine Pélagie
      Ange Rokhaya Marème`),
    family:
      words(`Diallo Traoré Koné Diop Ndiaye Sow Ba Fall Cissé Camara Touré Keïta Sylla Coulibaly Ouattara
      Konaté Sangaré Bamba Diarra Kouyaté Dembélé Sarr Faye Gueye Mbaye Ndour Seck Thiam Kane Barry Bah
      Doumbia Kaboré Ouédraogo Sawadogo Zongo Kouamé Yapi N'Guessan Tapsoba Sanogo`),
    middleName: 0.2,
    keepsFamilyName: 0.8,
  },
  sa: {
    male: words(`Rahul Amit Sanjay Rajesh Vikram Arjun Ravi Suresh Anil Manoj Deepak Imran Farhan Kamal Rakesh
      Sunil Vijay Ashok Prakash Naveen Harish Mohan Gopal Rohan Karan Nikhil Aditya Sameer Tariq Asif Bilal
      Zubair Arif Rahim Salman Hamid Yasir Sandeep Ajay Vinod Ganesh`),
    female:
      words(`Priya Anjali Sunita Kavita Neha Pooja Meena Lakshmi Geeta Rekha Asha Sita Radha Nisha Shabnam
      Fatima Ayesha Nasreen Rukhsana Farida Salma Parveen Shazia Nazia Anita Savita Usha Deepa Divya Swati
      Shreya Aarti Jyoti Rani Kiran Bushra Sana Hina Mehreen Rubina Zarina`),
    family: words(`Patel Shah Mehta Sharma Verma Gupta Singh Kumar Reddy Rao Naidu Iyer Nair Menon Pillai Das
      Bose Chatterjee Banerjee Mukherjee Khan Ahmed Hussain Qureshi Siddiqui Sheikh Ansari Malik Chaudhry
      Joshi Desai Kapoor Malhotra Bhatt Pandey Mishra Yadav Jain Agarwal Thakur Rahman`),
    middleName: 0.3,
    keepsFamilyName: 0.1,
  },
  la: {
    male: words(`José Juan Luis Carlos Jorge Miguel Pedro Javier Diego Andrés Fernando Ricardo Alejandro Manuel
      Francisco Antonio Rafael Sergio Pablo Eduardo Roberto Daniel Mateo Santiago Sebastián Nicolás Gabriel
      Emilio Hugo Raúl Óscar Víctor Mario Julio Ramón Héctor Arturo Esteban Joaquín Gustavo Felipe`),
    female: words(`María Ana Carmen Rosa Lucía Sofía Valentina Camila Isabella Daniela Gabriela Mariana Paula
      Andrea Laura Carolina Fernanda Juliana Adriana Patricia Claudia Verónica Mónica Silvia Beatriz Teresa
      Guadalupe Luz Elena Natalia Alejandra Ximena Renata Paola Diana Lorena Marisol Yolanda Esperanza Inés
      Catalina`),
    family:
      words(`García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez Torres Flores Rivera
      Gómez Díaz Cruz Morales Reyes Gutiérrez Ortiz Ramos Castillo Jiménez Vargas Romero Herrera Medina
      Aguilar Castro Mendoza Ruiz Álvarez Chávez Rojas Vásquez Moreno Silva Fernández Quispe Mamani Huamán
      Salazar`),
    middleName: 0.45,
    keepsFamilyName: 0.9,
  },
};

export type Sex = 'male' | 'female';

/** A given name for a person of this locale and sex. */
export const givenName = (rng: Rng, locale: Locale, sex: Sex): string => rng.pick(BOOKS[locale][sex]);

/** A family name of this locale. */
export const familyName = (rng: Rng, locale: Locale): string => rng.pick(BOOKS[locale].family);

/** A middle name for some persons (the locale's habit), else null. */
export const middleName = (rng: Rng, locale: Locale, sex: Sex): string | null =>
  rng.chance(BOOKS[locale].middleName) ? givenName(rng, locale, sex) : null;

/** Whether a wife of this locale keeps her own family name. */
export const keepsFamilyName = (rng: Rng, locale: Locale): boolean =>
  rng.chance(BOOKS[locale].keepsFamilyName);

/** Regions differ in who lives there: each region draws locales from one of these mixes. */
const REGION_MIXES: ReadonlyArray<Record<Locale, number>> = [
  { sw: 0.86, sa: 0.07, wa: 0.05, la: 0.02 },
  { sw: 0.6, wa: 0.3, sa: 0.05, la: 0.05 },
  { sw: 0.55, sa: 0.37, wa: 0.05, la: 0.03 },
  { sw: 0.5, la: 0.35, wa: 0.1, sa: 0.05 },
  { sw: 0.92, sa: 0.04, wa: 0.02, la: 0.02 },
];

/** The locale mix of the region with this index. */
export const regionLocales = (regionIndex: number): Weighted<Locale> =>
  Weighted.of(REGION_MIXES[regionIndex % REGION_MIXES.length]!);

const REGION_NAMES = words(`Pwani Ziwa Milimani Kaskazini Kusini Magharibi Mashariki Bondeni Misitu Mtoni
  Nyandani Visiwani Jangwani Mlimani Kati Mbugani`);

/** The name of the region with this index (fictional, unique for up to 16 regions). */
export const regionName = (index: number): string =>
  REGION_NAMES[index % REGION_NAMES.length]! + (index >= REGION_NAMES.length ? ` ${index + 1}` : '');

const PLACE_START = words('Ki Ma Mwa Nya Bu Lu Ka Mbe Chi Ru Tu Ngo I U Mi Se Ko Ma');
const PLACE_MIDDLE = words('ba la ngo ra ti mbi shi wa ko nde lu gi ye mi ka ro su nza');
const PLACE_END = words('nda ni ga la ma ra si we ru ko ba na ngo to');

/** A place name built from Bantu-like syllables (Kibanda, Nyashini, ...). */
export const placeName = (rng: Rng): string =>
  rng.pick(PLACE_START) + (rng.chance(0.6) ? rng.pick(PLACE_MIDDLE) : '') + rng.pick(PLACE_END);

const STREETS = words(
  'Amani Uhuru Sokoni Shuleni Kanisani Msikitini Mnazini Mwembeni Stendi Zahanati Bomani',
);

/** An address line such as "Plot 114, Mtaa wa Sokoni" (the comma exercises CSV quoting downstream). */
export const addressLine = (rng: Rng): string => `Plot ${rng.int(1, 480)}, Mtaa wa ${rng.pick(STREETS)}`;
