#include "qt/trust_store.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QStandardPaths>

#include "simulators/external_program.h"

namespace sbiw {

namespace {

QString baseDirectoryOf(const Project& project) {
    return project.baseDirectory.empty() ? QDir::currentPath()
                                         : QString::fromStdString(project.baseDirectory);
}

QJsonArray readEntries(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(file.readAll()).object().value("trusted").toArray();
}

}  // namespace

QString ForeignCode::summary() const {
    if (!runsCode)
        return QStringLiteral("runs no foreign code");
    if (kind == "plugin")
        return QStringLiteral("loads the native plugin %1").arg(description);
    return QStringLiteral("runs the program: %1 (in %2)").arg(description, workingDirectory);
}

ForeignCode foreignCode(const Project& project) {
    ForeignCode code;
    const SimulatorBinding& binding = project.simulator;
    if (!binding.runsForeignCode())
        return code;
    code.runsCode = true;
    code.kind = QString::fromStdString(binding.kind);
    const QDir base(baseDirectoryOf(project));
    code.workingDirectory = base.absolutePath();
    if (binding.kind == "plugin") {
        const QString library = base.absoluteFilePath(QString::fromStdString(binding.library));
        code.description = QDir::cleanPath(library);
        code.files << code.description;
    } else {
        ExternalProgramSettings shown;
        for (std::size_t i = 0; i < binding.command.size(); ++i) {
            QString part = QString::fromStdString(binding.command[i]);
            if (i == 0) {
                if (part.contains('/')) {
                    part = QDir::cleanPath(base.absoluteFilePath(part));
                    code.files << part;
                } else {
                    const QString found = QStandardPaths::findExecutable(part);
                    if (!found.isEmpty())
                        part = found;  // shown as it will run; not hashed
                }
            } else if (!part.startsWith('-') && QFileInfo(base.absoluteFilePath(part)).isFile()) {
                code.files << QDir::cleanPath(base.absoluteFilePath(part));
            }
            shown.command.push_back(part.toStdString());
            code.command << part;
        }
        code.description = QString::fromStdString(shown.commandLine());
    }
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(code.kind.toUtf8() + '\0' + code.description.toUtf8() + '\0' +
                 code.workingDirectory.toUtf8());
    for (const QString& path : code.files) {
        QFile file(path);
        hash.addData(QByteArray("\0file\0", 6) + path.toUtf8() + '\0');
        if (!file.open(QIODevice::ReadOnly)) {
            code.missingFile = path;
            continue;
        }
        hash.addData(&file);
    }
    code.fingerprint = hash.result().toHex();
    return code;
}

TrustStore::TrustStore(QString path) : path_(std::move(path)) {}

QString TrustStore::defaultPath() {
    const QByteArray overridden = qgetenv("SBIW_TRUST_FILE");
    if (!overridden.isEmpty())
        return QString::fromLocal8Bit(overridden);
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) +
           "/sbi-workbench/trusted-simulators.json";
}

bool TrustStore::isTrusted(const ForeignCode& code) const {
    if (!code.runsCode)
        return true;
    if (!code.missingFile.isEmpty())
        return false;
    for (const QJsonValue& entry : readEntries(path_))
        if (entry.toObject().value("fingerprint").toString().toLatin1() == code.fingerprint)
            return true;
    return false;
}

QString TrustStore::trust(const ForeignCode& code) {
    if (!code.runsCode || isTrusted(code))
        return {};
    if (!code.missingFile.isEmpty())
        return QStringLiteral("%1 does not exist").arg(code.missingFile);
    QJsonArray entries = readEntries(path_);
    entries.append(
        QJsonObject{{"fingerprint", QString::fromLatin1(code.fingerprint)},
                    {"kind", code.kind},
                    {"what", code.description},
                    {"folder", code.workingDirectory},
                    {"files", QJsonArray::fromStringList(code.files)},
                    {"trusted_at", QDateTime::currentDateTimeUtc().toString(Qt::ISODate)}});
    QDir().mkpath(QFileInfo(path_).absolutePath());
    QSaveFile file(path_);
    if (!file.open(QIODevice::WriteOnly))
        return QStringLiteral("cannot write %1: %2").arg(path_, file.errorString());
    file.write(
        QJsonDocument(QJsonObject{{"format", "sbiw-trust"}, {"version", 1}, {"trusted", entries}})
            .toJson());
    if (!file.commit())
        return QStringLiteral("cannot write %1: %2").arg(path_, file.errorString());
    return {};
}

}  // namespace sbiw
